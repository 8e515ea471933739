//! The SBF entrypoint: the loader's input, a heap allocator, and the panic handler. No Solana
//! crate is linked, so each is written out for the ABI of the BPF loader (aligned serialization).

use core::alloc::{GlobalAlloc, Layout};
use core::mem::size_of;
use core::ptr::null_mut;

use crate::cases;

/// Where the loader maps the heap, and its default size.
const HEAP_START: usize = 0x3_0000_0000;
const HEAP_LENGTH: usize = 32 * 1024;
/// Room the loader leaves after each account's data for it to grow.
const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;
/// An account's first byte when it is not a duplicate of an earlier one.
const NON_DUPLICATE: u8 = u8::MAX;

/// A bump allocator over the heap, downward from its end, as the Solana SDK's default: the
/// position lives in the heap's first word (a program has no writable statics); frees are no-ops.
struct BumpAllocator;

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let position = HEAP_START as *mut usize;
        let top = match *position {
            0 => HEAP_START + HEAP_LENGTH,
            top => top,
        };
        let start = top.saturating_sub(layout.size()) & !(layout.align() - 1);
        if start < HEAP_START + size_of::<usize>() {
            return null_mut();
        }
        *position = start;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator;

// The runtime's syscalls this program uses, linked by name.
extern "C" {
    /// Fails the instruction.
    fn abort() -> !;
    fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64);
    fn sol_memmove_(dst: *mut u8, src: *const u8, n: u64);
    fn sol_memset_(dst: *mut u8, byte: u8, n: u64);
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: a syscall without arguments.
    unsafe { abort() }
}

/// Where LLVM's BPF backend sends a trap (an `unreachable` reached): fail the instruction.
#[no_mangle]
pub extern "C" fn __bpf_trap() -> ! {
    // SAFETY: a syscall without arguments.
    unsafe { abort() }
}

// The memory functions LLVM calls for block moves and compares. A Solana toolchain build routes
// block moves to the runtime's memory syscalls (metered at max(10, n / 250) CU) rather than a byte
// loop, and so does this program, so that the book's shifts cost what they would on chain.
// `memcmp` is a byte loop: through `sol_memcmp_` this toolchain dropped the call's arguments
// (seen in the disassembly), and the compares here are 32-byte keys that differ early.

/// # Safety
/// As C's `memcpy`.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    sol_memcpy_(dst, src, n as u64);
    dst
}

/// # Safety
/// As C's `memmove`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    sol_memmove_(dst, src, n as u64);
    dst
}

/// # Safety
/// As C's `memset`.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8 {
    sol_memset_(dst, byte as u8, n as u64);
    dst
}

/// # Safety
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        let (x, y) = (*a.add(i), *b.add(i));
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

/// The data of the first account, if any, and the instruction data.
///
/// # Safety
/// `input` is the loader's serialized input: the account count, each account (flags, key, owner,
/// lamports, data length, data, growth room padded to 8 bytes, rent epoch; or a duplicate's index
/// padded to 8 bytes), the instruction data's length and bytes, the program id.
unsafe fn deserialize<'a>(input: *mut u8) -> (Option<&'a mut [u8]>, &'a [u8]) {
    let mut offset = 0;
    let accounts = *(input as *const u64);
    offset += size_of::<u64>();
    let mut first = None;
    for _ in 0..accounts {
        let duplicate = *input.add(offset) != NON_DUPLICATE;
        offset += 1;
        if duplicate {
            offset += 7;
            continue;
        }
        // is_signer, is_writable, executable, 4 bytes of padding, key, owner, lamports
        offset += 3 + 4 + 32 + 32 + 8;
        let data_len = *(input.add(offset) as *const u64) as usize;
        offset += size_of::<u64>();
        let data = core::slice::from_raw_parts_mut(input.add(offset), data_len);
        offset += data_len + MAX_PERMITTED_DATA_INCREASE;
        offset = (offset + 7) & !7;
        offset += size_of::<u64>(); // rent epoch
        first.get_or_insert(data);
    }
    let data_len = *(input.add(offset) as *const u64) as usize;
    offset += size_of::<u64>();
    (
        first,
        core::slice::from_raw_parts(input.add(offset), data_len),
    )
}

/// # Safety
/// Called by the loader only, with its serialized input.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let (account, data) = deserialize(input);
    match cases::run(data, account) {
        Ok(()) => 0,
        Err(failure) => failure as u64,
    }
}
