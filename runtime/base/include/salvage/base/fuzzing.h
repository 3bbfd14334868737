// salvage::base — the fuzzing build switch.
//
// The fuzz targets (host-tests/fuzz.cmake) are compiled with SALVAGE_FUZZING defined, and
// nothing else is: not the image, not the salvage command, not the unit tests. In that
// build every check of a checksum or digest read from the input passes, so that a
// mutated record, header block or GPT still reaches the code behind its CRC instead of
// stopping at it (libFuzzer cannot forge a CRC-32C or an XXH64). Everything after the
// checksum must already cope with any bytes: the CRC only tells damage from intent.
//
// Only checksum comparisons go through ChecksumMatches; magics, versions, lengths and
// every other field are checked as usual.
#pragma once

namespace salvage {

#if defined(SALVAGE_FUZZING)
inline constexpr bool kFuzzingBuild = true;
#else
inline constexpr bool kFuzzingBuild = false;
#endif

/// `computed == stored` for a checksum or digest of untrusted bytes; always true in the
/// fuzzing build (see above).
template <class T>
constexpr bool ChecksumMatches(T computed, T stored) {
  return kFuzzingBuild || computed == stored;
}

}  // namespace salvage
