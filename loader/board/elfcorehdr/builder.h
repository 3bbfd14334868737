// salvage::loader::elfcorehdr — builds the ELF core header ("elfcorehdr") that `salvage
// load` puts in the crash reservation, as kexec-tools' kexec/crashdump-elf.c builds it,
// for the capture image's parser (runtime/elfcore, salvage::elfcore::ParseCoreHeader) to
// read after the crash. Layouts: System V gABI "Object Files" (Elf32/Elf64_Ehdr,
// Elf32/Elf64_Phdr), ELF-64 Object File Format 1.5; written byte by byte little-endian,
// so the host's byte order does not matter.
//
// What is written, in this order (the arm64 header that docs/toolchain.md section 6
// describes):
//   ELF header: ET_CORE, EV_CURRENT, ELFDATA2LSB, ELFOSABI_NONE, e_machine as given,
//     e_phoff = e_ehsize, no sections, e_entry = e_flags = 0;
//   one PT_NOTE per CPU: p_offset = p_paddr = the physical address from cpuN/crash_notes,
//     p_filesz = p_memsz = the note buffer's size, p_vaddr = 0, p_flags = p_align = 0;
//   one PT_NOTE for VMCOREINFO, the same way, from /sys/kernel/vmcoreinfo;
//   optionally one PT_LOAD for the kernel image (arm64, riscv64; kexec-tools writes none
//     on 32-bit Arm): the physical range "Kernel code".."Kernel data"/"Kernel bss" of
//     /proc/iomem, p_vaddr = the kernel's virtual address of its first byte. It repeats
//     bytes of a RAM PT_LOAD at other virtual addresses (elfcore::IsSecondView), so the
//     image's MakePlan reports problem::kLoadSecondView once for that RAM range, dumps
//     the bytes once, and the vmcore keeps both program headers. kexec-tools takes p_vaddr from
//     /proc/kallsyms "_text" and writes p_vaddr ~0 when that symbol is missing (the
//     broken header of docs/toolchain.md section 6); salvage leaves the segment out
//     instead;
//   one PT_LOAD per System RAM range minus the crash reservation(s) (split around them),
//     in address order: p_offset = p_paddr = start, p_filesz = p_memsz = size,
//     p_vaddr = its linear-map address (LinearMap below) or 0 when unknown, ~0 for 32-bit
//     highmem; p_flags = PF_R|PF_W|PF_X, p_align = 0.
// The buffer is the headers, zero-padded to 1 KiB (ELF_CORE_HEADER_ALIGN), as kexec-tools
// sizes it; it is loaded into the last page(s) of the reservation (PlaceAtEnd).
//
// Virtual addresses: the dump tools (crash, makedumpfile, drgn, gdb) translate kernel
// virtual addresses through p_vaddr. Where salvage gets them (AddressingFromVmcoreinfo):
//   arm64    linear map: PAGE_OFFSET = ~0 << NUMBER(VA_BITS) (the layout of Linux 5.4 and
//            later), PHYS_OFFSET = NUMBER(PHYS_OFFSET); kernel image: vaddr = paddr +
//            NUMBER(kimage_voffset). Exact with KASLR, and independent of whether "Kernel
//            code" starts at _text or _stext (arm64 kernels differ).
//   riscv64  linear map: NUMBER(PAGE_OFFSET), NUMBER(phys_ram_base); kernel image:
//            vaddr = paddr + NUMBER(va_kernel_pa_offset) (6.5 and later, and stable).
//   arm      as kexec-tools: PAGE_OFFSET = _stext & ~(32 MiB - 1), _stext from VMCOREINFO
//            or /proc/kallsyms, else 0xc0000000 (VMSPLIT_3G); PHYS_OFFSET = the lowest
//            System RAM; no kernel-image PT_LOAD (the kernel image lies in the linear map).
// VMCOREINFO's text is the VMCOREINFO note's descriptor; a root process reads it from the
// note in /proc/kcore (Linux 4.19 and later). Every value is also a plain parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::elfcorehdr {

enum class ElfClass : uint8_t { k32 = 32, k64 = 64 };

/// ELF_CORE_HEADER_ALIGN: kexec-tools pads the header buffer to a multiple of this.
inline constexpr uint64_t kHeaderAlign = 1024;

/// The kernel's linear map: physical address P is at virtual P - phys_offset + page_offset.
struct LinearMap {
  uint64_t page_offset = 0;  ///< Virtual address of phys_offset.
  uint64_t phys_offset = 0;  ///< Physical address mapped at page_offset (PHYS_OFFSET).
  /// First physical address the linear map does not cover (32-bit highmem); 0: it covers
  /// everything. RAM from here on gets p_vaddr ~0, as kexec-tools writes for highmem, and
  /// a range that crosses it is split there. With ELF32, RAM whose linear address would
  /// pass 2^32 is treated the same way.
  uint64_t lowmem_end = 0;
};

/// The kernel image PT_LOAD.
struct KernelText {
  PhysRange phys;      ///< Iomem::KernelImage(): "Kernel code" start to data/bss end.
  uint64_t vaddr = 0;  ///< The kernel's virtual address of phys.base.
};

struct Input {
  uint16_t machine = 0;  ///< e_machine: elfcore::kEmAarch64, kEmArm, kEmRiscv.
  ElfClass elf_class = ElfClass::k64;
  /// One note buffer per CPU, in CPU order (sysfs CrashNotes).
  std::span<const PhysRange> cpu_notes;
  /// The VMCOREINFO note (/sys/kernel/vmcoreinfo); nullopt: none (kexec-tools then
  /// writes none either).
  std::optional<PhysRange> vmcoreinfo;
  /// Iomem::SystemRam().
  std::span<const PhysRange> system_ram;
  /// Left out of the PT_LOADs: Iomem::CrashKernel() (the elfcorehdr, the image and its
  /// data live there).
  std::span<const PhysRange> reserved;
  std::optional<KernelText> kernel_text;
  /// nullopt: RAM PT_LOADs get p_vaddr 0.
  std::optional<LinearMap> linear_map;
};

struct Header {
  /// ELF header + program headers, zero-padded to a multiple of kHeaderAlign.
  std::vector<uint8_t> bytes;
  size_t used_bytes = 0;  ///< Bytes before the padding.
  uint32_t note_count = 0;
  uint32_t load_count = 0;  ///< Including the kernel-image PT_LOAD.
  /// The RAM PT_LOADs as written (after the reservation and highmem splits), in order.
  std::vector<PhysRange> ram_loads;
};

/// Builds the header. Everything it writes passes salvage::elfcore::ParseCoreHeader
/// without a diagnostic.
/// Errors (each says which range and why):
///   machine 0; no System RAM; a range that is empty, wraps past 2^64 or ends above
///   elfcore::kMaxPhysAddr; a note larger than elfcore::kMaxNoteSegmentSize; a note not
///   inside System RAM or inside the reservation; more notes than elfcore::kMaxNotes or
///   more PT_LOADs than elfcore::kMaxLoads; nothing left of RAM after the reservation;
///   a kernel image not inside System RAM, overlapping the reservation, or whose vaddr
///   range wraps;
///   ELF32 with any address or size above 4 GiB - 1, or a kernel vaddr above it: "ELF32
///   cannot describe memory above 4 GiB ... use ELF64".
Expected<Header> Build(const Input& input);

/// `from` minus `minus`, sorted; overlapping input ranges are merged, touching ones kept
/// apart (kexec-tools keeps one PT_LOAD per System RAM line).
std::vector<PhysRange> Subtract(std::span<const PhysRange> from, std::span<const PhysRange> minus);

/// The header's buffer size as kexec-tools computes it: e_ehsize + phnum * e_phentsize,
/// rounded up to kHeaderAlign.
uint64_t HeaderBytes(ElfClass elf_class, size_t phnum);

/// Bytes the header occupies in the reservation: `header_bytes` rounded up to whole pages
/// (kexec_load segments are page-granular). `page_size` is a power of two.
uint64_t SegmentSize(uint64_t header_bytes, uint64_t page_size);

/// Where the header goes: the last SegmentSize() bytes of `reservation`, as kexec-tools
/// places it (top-down). Returns the range of the header bytes themselves (`header_bytes`
/// long, at the start of that page run): what linux,elfcorehdr names. Errors: the
/// reservation is smaller than the segment or not page-aligned at its end.
Expected<PhysRange> PlaceAtEnd(PhysRange reservation, uint64_t header_bytes, uint64_t page_size);

/// True where kexec-tools writes a kernel-image PT_LOAD (arm64, riscv).
bool HasKernelTextSegment(uint16_t machine);

/// True where AddressingFromVmcoreinfo takes the elfcorehdr's virtual addresses from the
/// VMCOREINFO text (arm64, riscv64); false for 32-bit Arm, whose linear map comes from
/// kexec-tools' defaults and System RAM alone, so a kernel without /proc/kcore (Debian's
/// armmp) loses nothing.
bool AddressesNeedVmcoreinfo(uint16_t machine);

/// True where the linear map's PAGE_OFFSET comes from the kernel's _stext (32-bit Arm,
/// AddressingFromVmcoreinfo): the loader then reads /proc/kallsyms when the VMCOREINFO
/// text has no SYMBOL(_stext).
bool PageOffsetFromStext(uint16_t machine);

/// The class kexec-tools uses: ELF32 on 32-bit Arm unless RAM ends above 4 GiB (LPAE),
/// ELF64 elsewhere.
ElfClass DefaultElfClass(uint16_t machine, std::span<const PhysRange> system_ram);

/// Linear map and kernel-image offset, from VMCOREINFO text (see the file comment).
struct Addressing {
  std::optional<LinearMap> linear_map;
  /// Kernel image virtual address minus physical address; KernelText::vaddr is
  /// phys.base + this.
  std::optional<uint64_t> kernel_voffset;
  /// Which values were used, for `salvage load -v`.
  std::string basis;
};

/// `vmcoreinfo` is the VMCOREINFO descriptor ("KEY=value" lines); `system_ram` is used
/// for 32-bit Arm's PHYS_OFFSET. Missing or malformed keys leave the field unset.
/// 32-bit Arm, as kexec-tools (kexec/arch/arm/crashdump-arm.c, get_kernel_page_offset):
/// PAGE_OFFSET = _stext & ~(32 MiB - 1) (KVBASE_MASK), _stext from VMCOREINFO's
/// SYMBOL(_stext), else `kallsyms_stext` (the loader reads /proc/kallsyms, as kexec-tools
/// does); without either, kexec-tools' DEFAULT_PAGE_OFFSET 0xc0000000 (VMSPLIT_3G). A
/// VMSPLIT_2G or _1G kernel needs _stext: its linear map starts at 0x80000000 or
/// 0x40000000.
Addressing AddressingFromVmcoreinfo(std::string_view vmcoreinfo, uint16_t machine,
                                    std::span<const PhysRange> system_ram,
                                    std::optional<uint64_t> kallsyms_stext = std::nullopt);

}  // namespace salvage::loader::elfcorehdr
