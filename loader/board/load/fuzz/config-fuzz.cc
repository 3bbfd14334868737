// libFuzzer target for /etc/salvage.conf (loader/board/load/config.h: ParseConfig, Merge) and
// for what salvage load does next with its values: the target (blockdump::ParseTarget),
// the dump file size (ParseFileSize) and the words appended to the image's bootargs
// (ParseOptions, as the image will read them). Built by host-tests/fuzz.cmake
// ("config"); seeds in host-tests/fuzz-corpus/config/.
//
// Besides "no crash, no UB, no leak", it checks config.h's promises: every error names
// the file and line ("fuzz.conf:N: ..."); a file that parses parses again to the same
// settings when they are written back out (KEY="VALUE" with the shell's escapes), and
// the command line wins in Merge.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <salvage/blockdump/target.h>

#include "fuzz-files.h"
#include "board/load/config.h"
#include "board/load/dump-file.h"
#include "options.h"

namespace {

using salvage::fuzz::Check;
namespace load = salvage::loader::load;

// KEY="VALUE" with \ " $ ` escaped, as config.h documents.
void WriteBack(std::string* out, const char* key, const std::optional<std::string>& v) {
  if (!v) return;
  *out += key;
  *out += "=\"";
  for (char c : *v) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') *out += '\\';
    *out += c;
  }
  *out += "\"\n";
}

bool Same(const load::Choices& a, const load::Choices& b) {
  return a.enabled == b.enabled && a.sink == b.sink && a.target == b.target && a.after == b.after &&
         a.append == b.append && a.image == b.image && a.purgatory == b.purgatory && a.dtb == b.dtb &&
         a.file == b.file && a.file_size == b.file_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = load::ParseConfig(text, "fuzz.conf");
  if (!parsed.ok()) {
    Check(parsed.error().starts_with("fuzz.conf:"));
    return 0;
  }
  const load::Choices& c = *parsed;

  // Written back and read again: the same settings. Values holding a newline or a NUL
  // cannot be written on one line, and a value the file gave as '' is absent anyway.
  bool writable = true;
  for (const auto* v : {&c.sink, &c.target, &c.after, &c.append, &c.image, &c.purgatory, &c.dtb, &c.file, &c.file_size}) {
    if (*v && v->value().find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) writable = false;
  }
  if (writable) {
    std::string again;
    if (c.enabled) again += *c.enabled ? "USE_SALVAGE=1\n" : "USE_SALVAGE=0\n";
    WriteBack(&again, "SALVAGE_SINK", c.sink);
    WriteBack(&again, "SALVAGE_TARGET", c.target);
    WriteBack(&again, "SALVAGE_AFTER", c.after);
    WriteBack(&again, "SALVAGE_APPEND", c.append);
    WriteBack(&again, "SALVAGE_IMAGE", c.image);
    WriteBack(&again, "SALVAGE_PURGATORY", c.purgatory);
    WriteBack(&again, "SALVAGE_DTB", c.dtb);
    WriteBack(&again, "SALVAGE_FILE", c.file);
    WriteBack(&again, "SALVAGE_FILE_SIZE", c.file_size);
    auto reparsed = load::ParseConfig(again, "again.conf");
    Check(reparsed.ok() && Same(*reparsed, c));
  }

  // The command line wins; the file fills what it leaves unset.
  load::Choices cli;
  cli.sink = "uart";
  const load::Choices m = load::Merge(cli, c);
  Check(m.sink == cli.sink && m.target == c.target && m.enabled == c.enabled);

  // What salvage load does with the values next.
  if (c.target) (void)salvage::blockdump::ParseTarget(*c.target);
  if (c.file_size) {
    auto s = load::ParseFileSize(*c.file_size);
    if (s.ok() && s->has_value()) Check(**s >= load::kDumpFileRounding && **s % load::kDumpFileRounding == 0);
  }
  if (c.append) (void)salvage::ParseOptions(*c.append);
  return 0;
}
