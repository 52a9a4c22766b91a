#include "pg/statement_canceller.h"

namespace pgoutbox::pg {

StatementCanceller::StatementCanceller(PgConnection& conn) : cancel_(PQgetCancel(conn.get())) {}

bool StatementCanceller::Cancel() const {
  if (!cancel_) return false;
  char error[256];
  return PQcancel(cancel_.get(), error, sizeof error) == 1;
}

}  // namespace pgoutbox::pg
