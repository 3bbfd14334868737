// salvage::loader::load — command lines (see command.h).
#include "board/load/command.h"

#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "common/exit-codes.h"
#include "board/load/dump-file.h"
#include "board/load/load.h"
#include "board/proc/sysfs.h"

namespace salvage::loader::load {

const char kLoadUsage[] =
    "usage: salvage load [options]\n"
    "\n"
    "Loads the salvage image as this kernel's crash (kdump) kernel: after a panic, the\n"
    "kernel jumps to it and it writes the crashed kernel's memory to the serial console or\n"
    "a disk. Needs root, and memory reserved with crashkernel= (salvage load says how much).\n"
    "Replaces any crash kernel loaded before. Runs at boot from salvage.service.\n"
    "\n"
    "what the image does after a crash (also SALVAGE_* in the configuration file):\n"
    "      --sink uart|virtio-blk|virtio-blk@ADDR|sd|sd@ADDR|sd-file\n"
    "                        where the dump goes (default uart: the console, for salvage recv;\n"
    "                        every sink of docs/options.md is accepted; sd-file: a file on the\n"
    "                        SD card, read after the reboot with salvage extract FILE)\n"
    "      --target T        with virtio-blk or sd (required there): mbr:N, gpt-name:NAME,\n"
    "                        gpt-uuid:UUID, extents:S+C,..., or disk (the whole device, with\n"
    "                        --confirm-whole-device); the area must hold no partition table,\n"
    "                        file system or swap and not be mounted (docs/options.md)\n"
    "      --confirm-whole-device\n"
    "                        with --target disk: yes, overwrite the whole device\n"
    "      --file PATH       with sd-file: the dump file, on the SD card's ext4 or vfat file\n"
    "                        system (default /var/crash/salvage.dump); made, or reused, here\n"
    "      --file-size auto|SIZE\n"
    "                        with sd-file: its size (default auto: what the RAM to dump needs\n"
    "                        at worst; a smaller file keeps the first pages only)\n"
    "      --after poweroff|reboot|halt\n"
    "                        what to do when the dump is written (default poweroff)\n"
    "      --append WORDS    more words for the image's command line (bootargs)\n"
    "\n"
    "files:\n"
    "      --image FILE      the salvage image (default " SALVAGE_LIBDIR "/salvage-ARCH.img,\n"
    "                        else salvage.img)\n"
    "      --purgatory FILE  the purgatory (default " SALVAGE_LIBDIR "/purgatory-ARCH.bin,\n"
    "                        else purgatory.bin)\n"
    "      --dtb FILE        the device tree to give the image (default /sys/firmware/fdt)\n"
    "      --config FILE     settings file (default /etc/salvage.conf when it exists); the\n"
    "                        command line wins over it\n"
    "\n"
    "other:\n"
    "      --elf32, --elf64  class of the ELF core header (default: ELF32 on 32-bit Arm\n"
    "                        without memory above 4 GiB, ELF64 elsewhere, as kexec-tools)\n"
    "      --arch A          aarch64, arm or riscv64 (default: the running kernel's)\n"
    "  -n, --dry-run         do everything but load: no root needed, nothing changed\n"
    "      --out DIR         with --dry-run: write each segment to DIR/NN-NAME-0xADDR.bin\n"
    "                        and a list to DIR/segments.txt\n"
    "      --root DIR        with --dry-run: read proc/, sys/ and etc/salvage.conf under DIR\n"
    "                        (a copied tree; see docs/load.md)\n"
    "  -v, --verbose         say where each piece came from\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 loaded (or nothing to do: USE_SALVAGE=0); 1 not loaded (the message\n"
    "says why and what to do); 2 usage.\n";

const char kUnloadUsage[] =
    "usage: salvage unload [--dry-run] [--root DIR]\n"
    "\n"
    "Unloads the crash kernel (salvage's or any other: as kexec -p -u), and removes\n"
    "salvage's state file (/run/salvage/loaded). Needs root. With --dry-run, says what it\n"
    "would unload; --root DIR (with --dry-run) reads the state under DIR.\n"
    "Exit status: 0 unloaded or nothing was loaded; 1 the kernel refused; 2 usage.\n";

const char kStatusUsage[] =
    "usage: salvage status [--root DIR]\n"
    "\n"
    "Says whether salvage is the loaded crash kernel (with its options and since when),\n"
    "another crash kernel is loaded, or none, and shows the crashkernel= reservation\n"
    "(its addresses only to root). --root DIR reads proc/, sys/ and run/salvage under DIR.\n"
    "Exit status: 0 salvage is loaded; 3 it is not (nothing, or another crash kernel, is\n"
    "loaded); 1 the kernel's files cannot be read; 2 usage.\n";

namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Expected<LoadArgs> ParseLoadArgs(int argc, char** argv) {
  LoadArgs a;
  LoadSettings& s = a.settings;
  Choices cli;
  std::string config;
  bool config_given = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    auto opt = [&](std::optional<std::string>* out) -> bool {
      std::string v;
      if (!value(&v)) return false;
      *out = v;
      return true;
    };
    auto needs = [&](const char* what) { return Fail(arg + " needs " + what); };
    if (arg == "-h" || arg == "--help") {
      a.help = true;
      return a;
    } else if (arg == "--image") {
      if (!opt(&cli.image)) return needs("a file");
    } else if (arg == "--purgatory") {
      if (!opt(&cli.purgatory)) return needs("a file");
    } else if (arg == "--dtb") {
      if (!opt(&cli.dtb)) return needs("a file");
    } else if (arg == "--sink") {
      if (!opt(&cli.sink)) return needs("uart, virtio-blk[@ADDR], sd[@ADDR] or sd-file");
    } else if (arg == "--target") {
      if (!opt(&cli.target)) return needs("a target (disk, mbr:N, gpt-name:NAME, gpt-uuid:UUID, extents:S+C,...)");
    } else if (arg == "--confirm-whole-device") {
      cli.confirm_whole_device = true;
    } else if (arg == "--file") {
      if (!opt(&cli.file)) return needs("a path (on the SD card's file system)");
    } else if (arg == "--file-size") {
      if (!opt(&cli.file_size)) return needs("auto or a size (1536M, 2G)");
      auto size = ParseFileSize(*cli.file_size);
      if (!size.ok()) return size.failure();
    } else if (arg == "--after") {
      if (!opt(&cli.after)) return needs("poweroff, reboot or halt");
    } else if (arg == "--append") {
      std::string v;
      if (!value(&v)) return needs("words");
      cli.append = cli.append ? *cli.append + " " + v : v;
    } else if (arg == "--config") {
      if (!value(&config)) return needs("a file");
      config_given = true;
    } else if (arg == "--arch") {
      if (!value(&s.arch)) return needs("aarch64, arm or riscv64");
      if (!ArchFromName(s.arch)) return Fail("--arch " + s.arch + ": salvage has images for aarch64, arm and riscv64");
    } else if (arg == "--elf32") {
      s.elf_class = elfcorehdr::ElfClass::k32;
    } else if (arg == "--elf64") {
      s.elf_class = elfcorehdr::ElfClass::k64;
    } else if (arg == "--root") {
      if (!value(&s.root)) return needs("a directory");
    } else if (arg == "--dry-run" || arg == "-n") {
      s.dry_run = true;
    } else if (arg == "--out") {
      if (!value(&s.out)) return needs("a directory");
    } else if (arg == "-v" || arg == "--verbose") {
      s.verbose = true;
    } else {
      return Fail(arg.size() > 1 && arg[0] == '-' ? "unknown option " + arg : "unexpected argument " + arg);
    }
  }
  if (!s.root.empty() && s.root != "/" && !s.dry_run)
    return Fail("--root " + s.root + " describes another system: use it with --dry-run");
  if (!s.out.empty() && !s.dry_run) return Fail("--out writes the segments of a dry run: add --dry-run");

  if (!config_given) config = DefaultConfigPath(s.root);
  Choices file;
  if (config_given || IsFile(config)) {
    auto text = proc::ReadTextFile(config);
    if (!text.ok()) return Fail(text.error());
    auto parsed = ParseConfig(*text, config);
    if (!parsed.ok()) return parsed.failure();
    file = *parsed;
  }
  s.choices = Merge(cli, file);
  if ((cli.file || cli.file_size) && s.choices.sink != std::string(kSdFileSink))
    return Fail(std::string(cli.file ? "--file" : "--file-size") + " is for the dump file on the SD card: add --sink sd-file");
  return a;
}

int LoadCommand(int argc, char** argv, Kernel& kernel, std::FILE* out, std::FILE* err) {
  auto args = ParseLoadArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(err, "salvage load: %s\ntry 'salvage load --help'\n", args.error().c_str());
    return kExitUsage;
  }
  if (args->help) {
    std::fputs(kLoadUsage, out);
    return 0;
  }
  return RunLoad(args->settings, kernel, out, err);
}

namespace {

// --root DIR and --dry-run, shared by unload and status.
struct SimpleArgs {
  std::string root;
  bool dry_run = false;
  bool help = false;
};

Expected<SimpleArgs> ParseSimple(int argc, char** argv, bool allow_dry_run) {
  SimpleArgs a;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      a.help = true;
      return a;
    } else if (arg == "--root") {
      if (i + 1 >= argc) return Fail("--root needs a directory");
      a.root = argv[++i];
    } else if (allow_dry_run && (arg == "--dry-run" || arg == "-n")) {
      a.dry_run = true;
    } else {
      return Fail(arg.size() > 1 && arg[0] == '-' ? "unknown option " + arg : "unexpected argument " + arg);
    }
  }
  return a;
}

}  // namespace

int UnloadCommand(int argc, char** argv, Kernel& kernel, std::FILE* out, std::FILE* err) {
  auto args = ParseSimple(argc, argv, true);
  if (args.ok() && !args->help && !args->root.empty() && args->root != "/" && !args->dry_run)
    args = Fail("--root " + args->root + " describes another system: use it with --dry-run");
  if (!args.ok()) {
    std::fprintf(err, "salvage unload: %s\ntry 'salvage unload --help'\n", args.error().c_str());
    return kExitUsage;
  }
  if (args->help) {
    std::fputs(kUnloadUsage, out);
    return 0;
  }
  return RunUnload(args->root, args->dry_run, kernel, out, err);
}

int StatusCommand(int argc, char** argv, std::FILE* out, std::FILE* err) {
  auto args = ParseSimple(argc, argv, false);
  if (!args.ok()) {
    std::fprintf(err, "salvage status: %s\ntry 'salvage status --help'\n", args.error().c_str());
    return kExitUsage;
  }
  if (args->help) {
    std::fputs(kStatusUsage, out);
    return 0;
  }
  return RunStatus(args->root, out, err);
}

}  // namespace salvage::loader::load
