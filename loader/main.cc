// salvage: the command-line tool. This version has no subcommands yet; it says so.
#include <cstdio>
#include <cstring>

namespace {

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: salvage [--help] [--version]\n"
               "\n"
               "salvage replaces the Linux kdump capture kernel with a small bare-metal image\n"
               "that writes the crashed kernel's memory to a serial line, a virtio disk or an\n"
               "SD card.\n"
               "\n"
               "This version builds and boots the capture image (see README.md); it has no\n"
               "subcommands yet. Loading the image (salvage load) and receiving dumps\n"
               "(salvage recv) are not available in this version.\n"
               "\n"
               "options:\n"
               "  -h, --help     show this help and exit\n"
               "  -V, --version  show the version and build and exit\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    PrintUsage(stdout);
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("salvage %s (%s)\n", SALVAGE_VERSION, SALVAGE_BUILD);
    return 0;
  }
  if (argc == 1) {
    PrintUsage(stderr);
    return 2;
  }
  std::fprintf(stderr, "salvage: unknown command or option '%s'; this version has none but --help and --version\n",
               argv[1]);
  std::fprintf(stderr, "try 'salvage --help'\n");
  return 2;
}
