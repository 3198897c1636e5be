import YKTCore
import YKTStore

/// A program as both nodes keep it in their `program` table (the county's and the township's
/// have these columns in common).
extension Program {
    /// The columns `stored(_:)` reads, in this order.
    public static let storedColumns = """
        code, name, department, unit, standard_fen, frequency, secret, basis, version, \
        carrier, payee, township_days, department_days, finance_days
        """

    /// The number of columns in `storedColumns`.
    public static let storedColumnCount = 14

    /// Reads a program from a row that starts with `storedColumns`. A value the program does not
    /// know (written by a newer one) reads as the standard rule.
    public static func stored(_ r: Row) -> Program {
        Program(code: r.text(0), name: r.text(1), department: r.text(2), unit: ProgramUnit(rawValue: r.text(3)) ?? .perPerson,
                standard: Fen(r.int64(4)), frequency: r.text(5), secret: r.bool(6), basis: r.text(7), version: r.int(8),
                rules: ProgramRules(carrier: CarrierRule(rawValue: r.text(9)) ?? .any, payee: PayeeUnit(rawValue: r.text(10)) ?? .person,
                                    limits: StepLimits(townshipReview: r.int(11), departmentReview: r.int(12),
                                                       financeApproval: r.int(13))))
    }


    /// The migration that adds the rule columns to a `program` table (township 16, county 23):
    /// one text for both nodes, as released; never edit it, add a migration.
    public static let rulesSchemaSQL = """
        ALTER TABLE program ADD COLUMN carrier TEXT NOT NULL DEFAULT 'any'
            CHECK (carrier IN ('any','social-security-card','social-security-card-transition'));
        ALTER TABLE program ADD COLUMN payee TEXT NOT NULL DEFAULT 'person' CHECK (payee IN ('person','household'));
        ALTER TABLE program ADD COLUMN township_days INTEGER NOT NULL DEFAULT 10 CHECK (township_days BETWEEN 1 AND 60);
        ALTER TABLE program ADD COLUMN department_days INTEGER NOT NULL DEFAULT 10 CHECK (department_days BETWEEN 1 AND 60);
        ALTER TABLE program ADD COLUMN finance_days INTEGER NOT NULL DEFAULT 5 CHECK (finance_days BETWEEN 1 AND 60);
        """
}
