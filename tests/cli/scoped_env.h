// ScopedEnv: sets (or, given nullptr, unsets) an environment variable for one
// scope, then restores what was there. For tests of flags and their
// PGOUTBOX_* variables; not thread-safe (the environment is the process's).
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

namespace pgoutbox::cli {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace pgoutbox::cli
