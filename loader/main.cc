// salvage: the command-line tool. On the board: load, unload, status (put the capture
// image in place as the kdump crash kernel: load/). On the workstation: recv, convert,
// extract, inspect.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "workstation/extract/extract.h"
#include "common/exit-codes.h"
#include "workstation/inspect/inspect.h"
#include "board/load/command.h"
#include "board/load/kexec.h"
#include "workstation/recv/receiver.h"
#include "workstation/recv/source.h"

namespace {

using salvage::loader::kExitUsage;

const char kUsage[] =
    "usage: salvage <command> [options]\n"
    "\n"
    "salvage replaces the Linux kdump capture kernel with a small bare-metal image that\n"
    "writes the crashed kernel's memory to a serial line or a disk. On the board, load puts\n"
    "that image in place; on the workstation, recv, convert and extract turn what it wrote\n"
    "into a vmcore that crash, gdb, drgn and makedumpfile open.\n"
    "\n"
    "on the board (Linux; load and unload as root):\n"
    "  load             load the salvage image as the crash kernel (kexec_load, KEXEC_ON_CRASH)\n"
    "  unload           unload the crash kernel\n"
    "  status           say whether salvage is loaded, and the crashkernel= reservation\n"
    "\n"
    "on the workstation:\n"
    "  recv SOURCE      receive a dump from a serial line, TCP, a file or stdin; write a vmcore\n"
    "  convert STREAM   turn a saved stream (recv --save-stream, or a serial log) into a vmcore\n"
    "  extract SOURCE   read a dump salvage wrote to a disk, partition or SD card; write a vmcore\n"
    "  inspect FILE     show what a stream or a vmcore holds and whether it is complete\n"
    "\n"
    "options:\n"
    "  -h, --help       show this help (salvage <command> --help for a command's)\n"
    "  -V, --version    show the version and build\n";

const char kRecvUsage[] =
    "usage: salvage recv [options] SOURCE\n"
    "\n"
    "Receives a dump stream and writes it as a vmcore. Console text around the stream is\n"
    "shown on stderr; a progress line shows pages, rate and ETA on a terminal.\n"
    "\n"
    "SOURCE:\n"
    "  /dev/ttyUSB0       a serial line (set raw, at --baud)\n"
    "  tcp:HOST:PORT      a TCP server, e.g. QEMU -serial tcp:127.0.0.1:4444,server=on,wait=on\n"
    "  FILE               a saved stream or serial log\n"
    "  -                  standard input\n"
    "\n"
    "options:\n"
    "  -o, --output FILE        the vmcore to write (default: vmcore-YYYYMMDD-HHMMSS)\n"
    "  -f, --force              replace FILE if it exists (default: refuse)\n"
    "  -b, --baud N             serial line speed (default 115200)\n"
    "      --save-stream FILE   also keep every byte received, for convert/inspect later\n"
    "                           (a new file, mode 0600; never through a symbolic link; an\n"
    "                           existing FILE only with --force)\n"
    "      --timeout S          once the stream started, give up after S seconds without\n"
    "                           data (default 30; 0 waits forever). Before the stream\n"
    "                           starts, recv waits for it indefinitely.\n"
    "      --connect-timeout S  keep retrying a TCP connection for S seconds (default 10)\n"
    "  -q, --quiet              no progress line and no console text\n"
    "\n"
    "The vmcore is written to a temporary file (mode 0600: a dump holds secrets) and\n"
    "renamed when done; it holds every page received, however many holes the dump has.\n"
    "Without --save-stream the raw bytes also go to a temporary file beside the vmcore: if\n"
    "no vmcore can be written, it is kept as VMCORE.stream (and named) for convert later.\n"
    "On a terminal, console text is shown with control bytes and escape sequences as \\xHH.\n"
    "A stream header is checked before anything is sized by it: ranges inside the physical\n"
    "address space of its architecture, counts capped, total pages matching the ranges.\n"
    "Exit status: 0 complete and intact; 3 written but incomplete (the missing ranges are\n"
    "named); 1 nothing usable received, a refused header, or an I/O error; 2 usage.\n";

const char kConvertUsage[] =
    "usage: salvage convert [-o VMCORE] [-f] STREAM\n"
    "\n"
    "Turns a saved dump stream (or a serial log containing one) into a vmcore, with the\n"
    "same checks and messages as recv. -o, -f and the exit status as for recv.\n";

const char kInspectUsage[] =
    "usage: salvage inspect FILE\n"
    "\n"
    "Shows what a dump stream or a vmcore written by salvage holds: architecture, ELF\n"
    "class, page size, notes (CPUs with crash notes; VMCOREINFO OSRELEASE and PAGESIZE),\n"
    "the memory ranges, and whether the dump is complete and intact (from the stream's\n"
    "trailer, or the SALVAGE note salvage writes into every vmcore).\n"
    "Exit status: 0 complete and intact; 3 incomplete; 4 a vmcore not written by salvage\n"
    "(no SALVAGE note: completeness unknown); 1 unreadable or malformed.\n";

std::string DefaultOutput() {
  char buf[64];
  time_t t = time(nullptr);
  strftime(buf, sizeof(buf), "vmcore-%Y%m%d-%H%M%S", localtime(&t));
  return buf;
}

bool IsHelp(const char* a) { return std::strcmp(a, "-h") == 0 || std::strcmp(a, "--help") == 0; }

int UsageError(const char* cmd, const std::string& what) {
  std::fprintf(stderr, "salvage %s: %s\ntry 'salvage %s --help'\n", cmd, what.c_str(), cmd);
  return kExitUsage;
}

// recv and convert share their options.
int Receive(const char* cmd, int argc, char** argv) {
  salvage::loader::ReceiveOptions o;
  o.tool = cmd;
  std::string source;
  unsigned baud = 115200;
  int connect_timeout = 10;
  const bool is_recv = std::strcmp(cmd, "recv") == 0;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (IsHelp(argv[i])) {
      std::fputs(is_recv ? kRecvUsage : kConvertUsage, stdout);
      return 0;
    } else if (a == "-o" || a == "--output") {
      const char* v = value("-o");
      if (!v) return UsageError(cmd, a + " needs a file name");
      o.output = v;
    } else if (a == "-f" || a == "--force") {
      o.force = true;
    } else if (is_recv && (a == "-b" || a == "--baud")) {
      const char* v = value("-b");
      if (!v || std::atoi(v) <= 0) return UsageError(cmd, a + " needs a positive number");
      baud = static_cast<unsigned>(std::atoi(v));
    } else if (is_recv && a == "--save-stream") {
      const char* v = value("--save-stream");
      if (!v) return UsageError(cmd, a + " needs a file name");
      o.save_stream = v;
    } else if (is_recv && (a == "--timeout" || a == "--connect-timeout")) {
      const char* v = value("--timeout");
      if (!v || std::atoi(v) < 0) return UsageError(cmd, a + " needs a number of seconds");
      (a == "--timeout" ? o.idle_timeout_s : connect_timeout) = std::atoi(v);
    } else if (a == "-q" || a == "--quiet") {
      o.progress = false;
      o.echo_text = false;
    } else if (a.size() > 1 && a[0] == '-' ) {
      return UsageError(cmd, "unknown option " + a);
    } else if (source.empty()) {
      source = a;
    } else {
      return UsageError(cmd, "more than one source: " + source + " and " + a);
    }
  }
  if (source.empty()) return UsageError(cmd, is_recv ? "no SOURCE given" : "no STREAM file given");
  if (!is_recv && source == "-") source = "-";
  if (o.output.empty()) o.output = DefaultOutput();
  salvage::loader::Source src;
  if (auto opened = src.Open(source, baud, connect_timeout); !opened.ok()) {
    std::fprintf(stderr, "salvage %s: error: %s\n", cmd, opened.error().c_str());
    return salvage::loader::kExitFailure;
  }
  if (!is_recv) o.idle_timeout_s = 0;
  salvage::loader::Receiver receiver(o);
  return receiver.Run(src);
}

int Main(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  // Last resort: input is checked before anything is sized by it, but should a check
  // be missing, an exception unwinds (removing temporary files) into a message, not an
  // abort.
  try {
    return Main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "salvage: error: out of memory; nothing was written (please report this with the input)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "salvage: error: %s; nothing was written (please report this with the input)\n", e.what());
  }
  return salvage::loader::kExitFailure;
}

namespace {

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (IsHelp(argv[1])) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::printf("salvage %s (%s)\n", SALVAGE_VERSION, SALVAGE_BUILD);
    return 0;
  }
  if (cmd == "recv" || cmd == "convert") return Receive(argv[1], argc - 2, argv + 2);
  if (cmd == "inspect") {
    if (argc == 3 && IsHelp(argv[2])) {
      std::fputs(kInspectUsage, stdout);
      return 0;
    }
    if (argc != 3) return UsageError("inspect", "needs exactly one FILE");
    return salvage::loader::Inspect(argv[2]);
  }
  if (cmd == "extract") return salvage::loader::ExtractCommand(argc - 2, argv + 2);
  namespace load = salvage::loader::load;
  if (cmd == "load") return load::LoadCommand(argc - 2, argv + 2, load::LiveKernel(), stdout, stderr);
  if (cmd == "unload") return load::UnloadCommand(argc - 2, argv + 2, load::LiveKernel(), stdout, stderr);
  if (cmd == "status") return load::StatusCommand(argc - 2, argv + 2, stdout, stderr);
  std::fprintf(stderr, "salvage: unknown command '%s'\ntry 'salvage --help'\n", cmd.c_str());
  return kExitUsage;
}

}  // namespace
