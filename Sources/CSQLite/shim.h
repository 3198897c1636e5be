#ifndef YKT_CSQLITE_SHIM_H
#define YKT_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type ykt_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/// sqlite3_config is variadic. Turning memory statistics off removes a global mutex taken on
/// every allocation; it must run before the library is initialised (before the first open).
static inline int ykt_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
/// sqlite3_db_config is variadic too. The last connection to close then leaves the write-ahead
/// log as it is, without copying it back into the database (the next connection reads it).
static inline int ykt_sqlite_keep_log_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
#endif
