// The salvage command's exit codes, for every subcommand (main.cc returns them).
#pragma once

namespace salvage::loader {

/// Exit codes of the salvage command. recv/convert/extract/inspect: 3 = a vmcore was
/// written but pages are missing or it is not intact. status: 3 = salvage is not the
/// loaded crash kernel (kExitNotLoaded).
inline constexpr int kExitOk = 0;         ///< Done: a complete and intact dump, salvage loaded.
inline constexpr int kExitFailure = 1;    ///< Could not read, write, decode or load.
inline constexpr int kExitUsage = 2;      ///< Wrong arguments.
inline constexpr int kExitIncomplete = 3; ///< A vmcore was written but pages are missing or it is not intact.
/// inspect: a vmcore with no SALVAGE note (not written by salvage): whether it is
/// complete is unknown.
inline constexpr int kExitNotSalvage = 4;
/// status: salvage is not the loaded crash kernel (nothing is loaded, or another crash
/// kernel is). 0: salvage is loaded; 1: an error.
inline constexpr int kExitNotLoaded = 3;

}  // namespace salvage::loader
