//! The program's heap: a bump allocator that allocates upward from the start of the SBF heap
//! and frees, or grows in place, its newest allocation.
//!
//! solana-program-entrypoint's default allocates downward from the end of a fixed 32 KiB and
//! never frees, so a vector grown by doubling keeps every buffer it outgrew, and a transaction
//! that requests a larger heap frame (`ComputeBudgetInstruction::request_heap_frame`) gains
//! nothing. Upward, the first 32 KiB serve every transaction and the rest of a requested frame
//! (up to the runtime's 256 KiB) is there for one that asks: a taker's 96 fills, their events
//! collected and then batched, need about 35 KiB.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::null_mut;

/// A bump allocator over `[start, start + len)`; the first word holds the next free address.
pub struct Heap {
    start: usize,
    len: usize,
}

impl Heap {
    /// # Safety
    /// `[start, start + len)` must be memory used by nothing else, zero at first; addresses
    /// past what the runtime mapped fault when touched, as any out-of-heap access does.
    pub const unsafe fn with_fixed_address_range(start: usize, len: usize) -> Self {
        Self { start, len }
    }

    /// The first free address: the newest allocation ends here.
    unsafe fn position(&self) -> usize {
        match *(self.start as *const usize) {
            0 => self.start + size_of::<usize>(),
            position => position,
        }
    }

    unsafe fn set_position(&self, position: usize) {
        *(self.start as *mut usize) = position;
    }

    /// The end of a block of `size` bytes at `start`, if it fits.
    fn end(&self, start: usize, size: usize) -> Option<usize> {
        start
            .checked_add(size)
            .filter(|&end| end <= self.start + self.len)
    }
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = self.position().next_multiple_of(layout.align());
        match self.end(start, layout.size()) {
            Some(end) => {
                self.set_position(end);
                start as *mut u8
            }
            None => null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the newest block can be given back (its alignment padding stays used).
        if ptr as usize + layout.size() == self.position() {
            self.set_position(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ptr as usize + layout.size() == self.position() {
            // The newest block grows or shrinks where it is.
            return match self.end(ptr as usize, new_size) {
                Some(end) => {
                    self.set_position(end);
                    ptr
                }
                None => null_mut(),
            };
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
        }
        new
    }
}

#[cfg(all(feature = "custom-heap", target_os = "solana"))]
#[global_allocator]
// The runtime maps the heap at 0x3_0000_0000: 32 KiB, or the frame a transaction requests, at
// most 256 KiB.
static ALLOCATOR: Heap = unsafe { Heap::with_fixed_address_range(0x3_0000_0000, 256 * 1024) };

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap over a zeroed, word-aligned buffer of `len` bytes.
    fn heap(buffer: &mut Vec<u64>) -> Heap {
        unsafe { Heap::with_fixed_address_range(buffer.as_mut_ptr() as usize, buffer.len() * 8) }
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn a_vector_grown_by_doubling_keeps_only_its_last_buffer_from_the_start_of_the_heap() {
        let mut buffer = vec![0u64; 4096 / 8];
        let heap = heap(&mut buffer);
        let mut capacity = 8;
        unsafe {
            let first = heap.alloc(layout(capacity));
            assert_eq!(
                first as usize,
                heap.start + 8,
                "the lowest addresses serve first"
            );
            for value in 0..8u8 {
                *first.add(value as usize) = value;
            }
            let mut block = first;
            while capacity < 2048 {
                block = heap.realloc(block, layout(capacity), capacity * 2);
                capacity *= 2;
            }
            assert_eq!(block, first, "grown in place");
            for value in 0..8u8 {
                assert_eq!(*block.add(value as usize), value);
            }
            // 2 KiB in use, not the 4 KiB a never-freeing allocator keeps after doubling to 2 KiB.
            assert_eq!(heap.position() - heap.start - 8, 2048);
            heap.dealloc(block, layout(capacity));
            assert_eq!(heap.position(), heap.start + 8);
        }
    }

    #[test]
    fn an_older_block_moves_and_an_exhausted_heap_says_null() {
        let mut buffer = vec![0u64; 1024 / 8];
        let heap = heap(&mut buffer);
        unsafe {
            let old = heap.alloc(layout(16));
            *old = 7;
            let newest = heap.alloc(layout(16));
            let moved = heap.realloc(old, layout(16), 64);
            assert!(moved > newest);
            assert_eq!(*moved, 7);
            // Freeing an older block frees nothing.
            heap.dealloc(newest, layout(16));
            assert_eq!(heap.position(), moved as usize + 64);
            assert!(heap.alloc(layout(2048)).is_null());
            assert!(heap.realloc(moved, layout(64), 4096).is_null());
            assert_eq!(
                heap.position(),
                moved as usize + 64,
                "a refusal changes nothing"
            );
        }
    }
}
