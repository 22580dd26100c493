#pragma once

// A thin RAII layer over SQLite for the stores that use it (the training
// cache, the service's job store). Errors become util::Error(kInternal).

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace trainyard::util {

// One prepared statement; finalized on destruction. Not thread-safe: use it
// under the lock that guards its connection.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& Bind(int index, const std::string& value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& BindNull(int index);
  SqliteStatement& BindBlob(int index, const std::string& bytes);
  // True while rows come; false when done; throws on errors.
  bool Step();
  std::string Text(int column) const;
  int64_t Int(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs `sql` (no results). Statements that find the database BUSY or LOCKED
// without consulting the busy handler (switching to WAL while another process
// opens the file) are retried for up to 5 seconds.
void SqliteExec(sqlite3* db, const std::string& sql);

// Opens (creating) a database in WAL mode with a 30 s busy timeout. Throws
// util::Error naming the file on failure.
sqlite3* SqliteOpen(const std::string& path);

}  // namespace trainyard::util
