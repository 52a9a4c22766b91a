#include "app/stop_watcher.h"

#include <chrono>

namespace pgoutbox::app {

StopWatcher::StopWatcher(const std::atomic<int>* stop_requests,
                         const pg::StatementCanceller* canceller, std::atomic<bool>* stop)
    : thread_([this, stop_requests, canceller, stop] { Watch(stop_requests, canceller, stop); }) {}

StopWatcher::~StopWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StopWatcher::Watch(const std::atomic<int>* stop_requests,
                        const pg::StatementCanceller* canceller, std::atomic<bool>* stop) {
  std::unique_lock<std::mutex> lock(mu_);
  bool stopping = false;
  while (!done_) {
    if (stop_requests != nullptr && stop_requests->load() > 0) {
      stopping = true;
      if (stop != nullptr) stop->store(true);
      canceller->Cancel();
    }
    cv_.wait_for(lock, std::chrono::milliseconds(stopping ? 100 : 50));
  }
}

}  // namespace pgoutbox::app
