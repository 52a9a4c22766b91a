// StopWatcher: makes a statement that waits on the server (a cleanup batch
// behind a row lock, a slot creation behind running transactions) give way
// to a stop signal.
//
// While it lives, a thread of its own watches the signal counter; once a
// stop was requested it sets `*stop` (if given) and cancels the statement
// running on the canceller's connection, again every 100 ms until destroyed
// (the server ignores a cancel request that arrives between two statements).
// The cancelled statement fails with SQLSTATE 57014; the caller tells a stop
// from another failure by the signal counter.
//
// Ownership: borrows the counter, the canceller and `stop`, which must
// outlive it. Thread safety: construct and destroy on one thread; the
// destructor joins the watching thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pg/statement_canceller.h"

namespace pgoutbox::app {

class StopWatcher {
 public:
  StopWatcher(const std::atomic<int>* stop_requests, const pg::StatementCanceller* canceller,
              std::atomic<bool>* stop = nullptr);
  ~StopWatcher();
  StopWatcher(const StopWatcher&) = delete;
  StopWatcher& operator=(const StopWatcher&) = delete;

 private:
  void Watch(const std::atomic<int>* stop_requests, const pg::StatementCanceller* canceller,
             std::atomic<bool>* stop);

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;   // guarded by mu_
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace pgoutbox::app
