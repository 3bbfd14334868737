// arch/'s interfaces on the host: see include/salvage/arch/fake.h.
#include <salvage/arch/cpu.h>
#include <salvage/arch/fake.h>
#include <salvage/arch/mmu.h>
#include <salvage/arch/timer.h>

namespace salvage::arch {
namespace {

constexpr uint16_t kDefaultMachine = 183;  // EM_AARCH64
constexpr uint64_t kDefaultIdentityLimit = uint64_t{1} << 47;

uint16_t g_machine = kDefaultMachine;
int g_class = 64;
uint64_t g_identity_limit = kDefaultIdentityLimit;
uint64_t g_ticks = 0;
uint64_t g_ticks_per_second = 1000000;

}  // namespace

namespace fake {
void SetMachine(uint16_t elf_machine, int elf_class) {
  g_machine = elf_machine;
  g_class = elf_class;
}
void SetIdentityMapLimit(uint64_t limit) { g_identity_limit = limit; }
void Reset() {
  g_machine = kDefaultMachine;
  g_class = 64;
  g_identity_limit = kDefaultIdentityLimit;
  g_ticks = 0;
  g_ticks_per_second = 1000000;
}
}  // namespace fake

const char* Name() { return "host"; }
const char* Mode() { return "fake"; }
uint16_t ElfMachine() { return g_machine; }
int ElfClass() { return g_class; }
void EarlyInit() {}

uint64_t Ticks() { return ++g_ticks; }
uint64_t TicksPerSecond() { return g_ticks_per_second; }
void SetTicksPerSecond(uint64_t hz) { g_ticks_per_second = hz; }

Status MmuBootstrap(PhysRange, PhysRange) { return Status::Ok(); }
Status MmuMapRam(std::span<const PhysRange>, PhysRange, PhysRange) { return Status::Ok(); }
uint64_t IdentityMapLimit() { return g_identity_limit; }
const char* MmuDescribe() { return "fake: identity, host memory"; }

}  // namespace salvage::arch
