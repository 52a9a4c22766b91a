// StatementCanceller: cancels whatever statement runs on a connection, from
// any thread (libpq's PQcancel, the same as pg_cancel_backend): the
// statement fails with SQLSTATE 57014. Cancelling while nothing runs does
// nothing.
//
// Ownership: owns libpq's cancel object (the server's address and the
// session's cancel key), not the connection; it may outlive the connection,
// and a Cancel() after the connection closed reaches no statement.
// Thread safety: create it on the connection's thread after connecting;
// Cancel() is thread-safe.
// Failure: Cancel() returns false when the request could not be sent (no
// cancel object, server unreachable); the caller decides whether to retry.
#pragma once

#include <libpq-fe.h>

#include <memory>

#include "pg/connection.h"

namespace pgoutbox::pg {

class StatementCanceller {
 public:
  explicit StatementCanceller(PgConnection& conn);
  // Returns false if the cancel request could not be sent.
  bool Cancel() const;

 private:
  struct Deleter {
    void operator()(PGcancel* c) const { PQfreeCancel(c); }
  };
  std::unique_ptr<PGcancel, Deleter> cancel_;
};

}  // namespace pgoutbox::pg
