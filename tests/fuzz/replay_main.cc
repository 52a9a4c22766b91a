// Replays saved inputs through a fuzz target without libFuzzer, so that the
// seed corpus and every input that once found a bug run in the normal test
// suite (and under ASan/UBSan in the sanitizer build).
//
// Usage: fuzz_<target>_replay [--allow-empty] DIR [[--allow-empty] DIR...]
// Calls LLVMFuzzerTestOneInput once per regular file under each DIR (sorted,
// recursively; README files and dot files are not inputs). Exits 1 if a DIR is
// missing or, unless --allow-empty precedes it, holds no input. A target
// that finds a problem aborts the process; the last "replay:" line on stderr
// names the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool IsInput(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  return entry.is_regular_file() && name.rfind('.', 0) != 0 && name.rfind("README", 0) != 0;
}

// Appends the inputs under `dir` to *files. False if `dir` is not a
// readable directory.
bool ListInputs(const fs::path& dir, std::vector<fs::path>* files) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return false;
  fs::recursive_directory_iterator it(dir, error), end;
  if (error) return false;
  for (; it != end; it.increment(error)) {
    if (error) return false;
    if (IsInput(*it)) files->push_back(it->path());
  }
  return true;
}

bool Replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) return false;
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  // A copy of exactly the input's size, so that ASan sees reads past its end.
  std::vector<uint8_t> data(bytes.begin(), bytes.end());
  static const uint8_t kNoBytes = 0;  // libFuzzer passes a valid pointer even for no bytes
  LLVMFuzzerTestOneInput(data.empty() ? &kNoBytes : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s [--allow-empty] DIR [[--allow-empty] DIR...]\n", argv[0]);
    return 2;
  }
  size_t total = 0;
  bool allow_empty = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--allow-empty") {
      allow_empty = true;
      continue;
    }
    std::vector<fs::path> files;
    if (!ListInputs(arg, &files)) {
      std::fprintf(stderr, "replay: %s is not a readable directory\n", arg.c_str());
      return 1;
    }
    if (files.empty() && !allow_empty) {
      std::fprintf(stderr, "replay: %s holds no input\n", arg.c_str());
      return 1;
    }
    allow_empty = false;
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      if (!Replay(file)) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return 1;
      }
    }
    std::printf("replay: %zu inputs from %s\n", files.size(), arg.c_str());
    total += files.size();
  }
  std::printf("replay: %zu inputs, no problem found\n", total);
  return 0;
}
