//! A counting gate with a bounded queue: at most `slots` calls run, at most
//! `queue` wait, the rest are refused.

use std::sync::{Condvar, Mutex};

pub(crate) struct Gate {
    slots: usize,
    queue: usize,
    state: Mutex<(usize, usize)>,
    freed: Condvar,
}

pub(crate) struct Permit<'a>(&'a Gate);

impl Gate {
    pub(crate) fn new(slots: usize, queue: usize) -> Self {
        Gate {
            slots: slots.max(1),
            queue,
            state: Mutex::new((0, 0)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a slot; `None` when the queue is full.
    pub(crate) fn enter(&self) -> Option<Permit<'_>> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.0 >= self.slots {
            if st.1 >= self.queue {
                return None;
            }
            st.1 += 1;
            while st.0 >= self.slots {
                st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            st.1 -= 1;
        }
        st.0 += 1;
        Some(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 -= 1;
        self.0.freed.notify_one();
    }
}
