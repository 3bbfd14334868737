// salvage::loader::load — the command lines of `salvage load`, `unload` and `status`.
#pragma once

#include <cstdio>

#include "board/load/config.h"
#include "board/load/kexec.h"
#include "common/expected.h"

namespace salvage::loader::load {

extern const char kLoadUsage[];
extern const char kUnloadUsage[];
extern const char kStatusUsage[];

/// What ParseLoadArgs found.
struct LoadArgs {
  LoadSettings settings;  ///< With the configuration file merged in.
  bool help = false;
};

/// Parses `salvage load`'s arguments (argv[0] is the first after "load"), then reads the
/// configuration file (--config FILE, else /etc/salvage.conf under --root when it
/// exists) and merges it under the command line. Errors: a usage problem (unknown
/// option, missing value, --root or --out without --dry-run) or the file's message.
Expected<LoadArgs> ParseLoadArgs(int argc, char** argv);

/// `salvage load|unload|status ARGS` against `kernel` (LiveKernel() from main).
int LoadCommand(int argc, char** argv, Kernel& kernel, std::FILE* out, std::FILE* err);
int UnloadCommand(int argc, char** argv, Kernel& kernel, std::FILE* out, std::FILE* err);
int StatusCommand(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace salvage::loader::load
