/// Every page of the console, township's and county's (each page says which node it is on).
/// A new page file adds its list here.
enum ConsoleRoutes {
    static let all: [ConsolePage] = SessionPages.pages + HomePages.pages + RegisterPages.pages + TownshipPages.pages
        + CountyMoneyPages.pages
        // County: supervision, queries and reports, administration.
        + WarningPages.pages + ConflictPages.pages + ComplaintPages.pages + ReportPages.pages + CountyTownshipPages.pages + AuditPages.pages
}
