// `salvage inspect FILE`: what a dump stream or a vmcore holds, and whether it is whole.
#pragma once

#include <string>

namespace salvage::loader {

/// Prints the header, the notes (CPUs; VMCOREINFO OSRELEASE and PAGESIZE), the ranges,
/// and completeness. Returns 0 for a complete, intact dump, 3 when it is not, 1 when
/// the file cannot be read or is neither a stream nor a vmcore.
int Inspect(const std::string& path);

}  // namespace salvage::loader
