#include "core/state_keeper.h"

#include <utility>

namespace pgoutbox::core {

StateKeeper::StateKeeper(StateKeeperOptions options)
    : options_(std::move(options)), key_(DeliveryStateKey(options_.database, options_.slot)) {
  if (options_.max_marks < 2) options_.max_marks = 2;
}

void StateKeeper::AddMark(const pg::DeliveredMark& mark,
                          std::optional<pg::ServerIdentity> taken_on) {
  std::lock_guard<std::mutex> lock(mu_);
  if (marks_.size() >= options_.max_marks) {
    // Keep every second mark, the newest included.
    std::deque<TakenMark> thinned;
    for (size_t i = marks_.size() % 2; i < marks_.size(); i += 2) thinned.push_back(marks_[i]);
    marks_.swap(thinned);
  }
  marks_.push_back({mark, std::move(taken_on)});
}

size_t StateKeeper::pending_marks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return marks_.size();
}

void StateKeeper::SetServer(const pg::ServerIdentity& server) { server_ = server; }

void StateKeeper::SetPhase(DeliveryPhase phase) { phase_ = phase; }

void StateKeeper::PromoteMarks(Lsn confirmed) {
  if (!server_) return;
  std::lock_guard<std::mutex> lock(mu_);
  while (!marks_.empty()) {
    const TakenMark& front = marks_.front();
    const bool other_server =
        front.taken_on && (front.taken_on->system_identifier != server_->system_identifier ||
                           front.taken_on->timeline != server_->timeline);
    if (!other_server && front.mark.insert_lsn > confirmed) break;
    if (!other_server) delivered_mark_ = front.mark;
    marks_.pop_front();
  }
}

DeliveryState StateKeeper::Build(Lsn confirmed) const {
  DeliveryState state;
  state.system_identifier = server_->system_identifier;
  state.timeline = server_->timeline;
  state.database = options_.database;
  state.slot = options_.slot;
  state.confirmed = confirmed;
  state.mark = delivered_mark_;
  state.phase = phase_;
  return state;
}

std::optional<DeliveryState> StateKeeper::Current(Lsn confirmed) {
  if (!server_) return std::nullopt;
  PromoteMarks(confirmed);
  return Build(confirmed);
}

std::optional<std::string> StateKeeper::Due(Lsn confirmed, Clock::time_point now) {
  PromoteMarks(confirmed);
  if (!first_confirmed_) first_confirmed_ = confirmed;
  if (!server_ || in_flight_ || (!written_ && confirmed <= *first_confirmed_)) return std::nullopt;
  DeliveryState state = Build(confirmed);
  if (written_ && state == *written_) return std::nullopt;
  const bool urgent = !written_ || written_->system_identifier != state.system_identifier ||
                      written_->timeline != state.timeline || written_->phase != state.phase;
  if (!urgent && now - last_due_ < options_.min_interval) return std::nullopt;
  last_due_ = now;
  in_flight_ = std::move(state);
  return in_flight_->ToJson();
}

void StateKeeper::Written() {
  if (in_flight_) written_ = std::move(in_flight_);
  in_flight_.reset();
}

void StateKeeper::NotWritten() {
  in_flight_.reset();
  last_due_ = Clock::time_point{};
}

}  // namespace pgoutbox::core
