/// Every page of the console, township's and county's (each page says which node it is on).
/// A new page file adds its list here.
enum ConsoleRoutes {
    static let all: [ConsolePage] = SessionPages.pages + HomePages.pages + RegisterPages.pages + TownshipPages.pages
        + CountyMoneyPages.pages
}
