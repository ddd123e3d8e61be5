// The process heap's policy for large blocks (glibc; elsewhere a no-op).
#pragma once

#include <string>

namespace saturn {

// From now on, keep allocations of up to 1 GiB in the heap and keep freed heap memory for reuse,
// instead of glibc's default: a fresh mmap for every block above a threshold of at most 32 MiB,
// unmapped again on free. LibTorch's CPU tensors come from malloc, and a fresh mapping is zeroed
// by the kernel page by page on first touch: evaluation and training allocate activations of
// tens to hundreds of MB for every batch, and paid that each time (saturn eval on LAMBADA with
// batches of 8192 tokens: 14.0 s of system time in a 63 s run, 1.7 s with this; bench/RESULTS.md).
// The cost: freed blocks stay with the process for reuse (only free space at the top of the main
// heap beyond 1 GiB goes back), so its footprint stays near its peak. Blocks that worker threads
// allocate in their own arenas may still get a mapping above 64 MiB (glibc's per-thread heap
// size). Call once, before the work.
void KeepLargeAllocationsInHeap();

// Bytes this process has allocated and not freed, by the allocator's own count (glibc's
// mallinfo2: heap blocks in use plus mapped blocks); 0 where unknown. LibTorch's CPU tensors
// are among them, so this is what training keeps on a CPU device.
unsigned long long HeapBytesInUse();
// The process's peak resident set so far (getrusage), in bytes.
unsigned long long PeakResidentBytes();
// The peak resident set since the last ResetResidentPeak (Linux: VmHWM in /proc/self/status,
// reset by writing 5 to /proc/self/clear_refs), in bytes; 0 where unknown. What `saturn
// profile` reports as a CPU rank's peak: the timed steps' own, not the model build's.
unsigned long long ResidentPeakSinceReset();
// A "Key:  N kB" line of /proc/self/status (VmHWM, VmData, ...), in bytes; 0 where absent.
unsigned long long ProcStatusBytes(const std::string& key);
// Starts a new peak at the current resident set; false where the kernel does not support it.
bool ResetResidentPeak();

}  // namespace saturn
