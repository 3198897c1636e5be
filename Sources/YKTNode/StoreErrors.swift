import YKTCore
import YKTStore

/// Turns SQLite failures into errors a clerk can act on.
public enum StoreErrors {
    public static func map(_ error: DatabaseError) -> YKTError {
        if error.isFull {
            return YKTError(.databaseFull, "磁盘或数据库已满，本次操作已全部撤销，数据未改动",
                            hint: "清理磁盘空间后重做这一步")
        }
        if error.isBusy {
            return YKTError(.databaseBusy, "数据库正被另一个程序使用", hint: "等另一个 ykt 命令结束后再试")
        }
        return YKTError(.database, "数据库操作失败：\(error.message)（代码 \(error.extendedCode)）",
                        hint: "本次操作已撤销；如反复出现，请把这条信息报告给系统管理员")
    }
}
