// salvage::loader::load — the settings of `salvage load`: the command line and the
// configuration file /etc/salvage.conf (loader/board/dist/salvage.conf).
//
// The file has the shape of Debian's /etc/default/kdump-tools, so it reads like a shell
// fragment and can be sourced by scripts, but salvage parses it itself and accepts only:
//   # a comment, and empty lines
//   KEY=VALUE          VALUE up to the end of the line or an unquoted " #"
//   KEY="VALUE"        double quotes (\" \\ \$ \` escaped as in the shell)
//   KEY='VALUE'        single quotes, taken literally
// with an optional leading "export ". No spaces around '='; no variable expansion. An
// empty VALUE means "not set" (the built-in default applies). Keys:
//   USE_SALVAGE        1 (default) or 0: 0 makes `salvage load` do nothing (the service
//                      stays enabled, as USE_KDUMP=0 does for kdump-tools)
//   SALVAGE_SINK       --sink        uart | virtio-blk | virtio-blk@ADDR | sd | sd@ADDR | sd-file
//   SALVAGE_TARGET     --target      disk | mbr:N | gpt-name:NAME | gpt-uuid:UUID | extents:...
//   SALVAGE_CONFIRM_WHOLE_DEVICE  --confirm-whole-device   1 or 0: with SALVAGE_TARGET=disk
//   SALVAGE_AFTER      --after       poweroff | reboot | halt
//   SALVAGE_APPEND     --append      words for the image's bootargs
//   SALVAGE_IMAGE      --image       the image file
//   SALVAGE_PURGATORY  --purgatory   the purgatory file
//   SALVAGE_DTB        --dtb         the device tree to start from
//   SALVAGE_FILE       --file        with sd-file: the dump file (/var/crash/salvage.dump)
//   SALVAGE_FILE_SIZE  --file-size   with sd-file: auto | SIZE (1536M, 2G)
// Any other key, a line without '=', or an unterminated quote is an error naming the
// file and line. A value given on the command line wins over the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "board/elfcorehdr/builder.h"
#include "common/expected.h"

/// Where the image and purgatory are installed; CMake sets it (SALVAGE_LIBDIR).
#ifndef SALVAGE_LIBDIR
#define SALVAGE_LIBDIR "/usr/lib/salvage"
#endif

namespace salvage::loader::load {

/// The settings the command line and the configuration file share; unset = default.
struct Choices {
  std::optional<bool> enabled{};  ///< USE_SALVAGE.
  /// --confirm-whole-device, SALVAGE_CONFIRM_WHOLE_DEVICE: yes, --target disk means it.
  std::optional<bool> confirm_whole_device{};
  std::optional<std::string> sink{}, target{}, after{}, append{}, image{}, purgatory{}, dtb{};
  /// --file, --file-size: the SD-card dump file of --sink sd-file (dump-file.h).
  std::optional<std::string> file{}, file_size{};
};

/// Parses the text of a configuration file. `source` names it in messages.
/// Errors: "SOURCE:LINE: ..." for an unknown key (naming it and the known ones), a line
/// that is not KEY=VALUE, an unterminated quote, text after a closing quote, a
/// USE_SALVAGE other than 0/1/yes/no/true/false, a key given twice.
Expected<Choices> ParseConfig(std::string_view text, std::string_view source);

/// `cli`, with every field it leaves unset taken from `file`.
Choices Merge(const Choices& cli, const Choices& file);

/// Everything `salvage load` was asked to do.
struct LoadSettings {
  Choices choices;
  /// --arch; "" = the running kernel's (uname), or the build's under --root.
  std::string arch;
  std::optional<elfcorehdr::ElfClass> elf_class;  ///< --elf32 / --elf64.
  /// --root DIR: read /proc, /sys, /etc/salvage.conf and write /run/salvage under DIR
  /// ("" = the live system). Paths given with --image, --purgatory, --dtb are not
  /// re-rooted.
  std::string root;
  bool dry_run = false;  ///< --dry-run: everything but kexec_load and the state file.
  std::string out;       ///< --out DIR (with --dry-run): write the segments there.
  bool verbose = false;  ///< -v.
};

/// Where salvage looks for the image and purgatory when --image / --purgatory (and the
/// config file) name none: SALVAGE_LIBDIR, set by CMake (default /usr/lib/salvage).
std::string LibDir();

/// The default configuration file, /etc/salvage.conf under `root`.
std::string DefaultConfigPath(std::string_view root);

}  // namespace salvage::loader::load
