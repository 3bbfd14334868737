// `salvage extract`: reads a dump that salvage wrote to a block device
// (docs/disk-format.md) from a disk image, a block device, a partition, or a file whose
// bytes are the dump area, and writes the vmcore with the same Receiver as recv/convert.
#pragma once

#include <cstdint>
#include <string>

namespace salvage::loader {

struct ExtractOptions {
  std::string source;   ///< Disk image file, block device, partition, or dump-area file.
  std::string output;   ///< The vmcore to write.
  bool force = false;   ///< Replace an existing output.
  /// `salvage.target=` syntax (docs/options.md), resolved on the source as salvage
  /// resolved it on the device; empty: the whole source is the dump area.
  std::string target;
  /// `S+C,...` in 512-byte sectors (the same as target "extents:S+C,..."). When the
  /// first extent is where the dump starts, the dump header's own extents are followed.
  std::string extents;
  /// Bytes per sector of the source: 0 picks the block device's logical sector size, or
  /// for a file 512 (4096 when a GPT target's header is found only at byte 4096).
  uint32_t sector_size = 0;
  bool progress = true;  ///< Progress line on stderr (only when it is a terminal).
};

/// Finds the dump, says what state it is in (complete, truncated, interrupted, or with
/// an older dump's trailer), and writes the vmcore. Returns recv's exit codes
/// (recv/receiver.h): 0 complete and intact, 3 written but incomplete, 1 no dump or an
/// I/O error, 2 usage (e.g. the output exists without `force`).
int Extract(const ExtractOptions& options);

/// `salvage extract` with its arguments (argv[0] is the first argument after
/// "extract"): parses them, prints usage errors, and calls Extract.
int ExtractCommand(int argc, char** argv);

/// The text of `salvage extract --help`.
extern const char kExtractUsage[];

}  // namespace salvage::loader
