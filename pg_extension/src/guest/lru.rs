//! A small least-recently-used map, for the backend's module and instance caches: a few dozen to a
//! few hundred entries, so eviction scans for the oldest instead of keeping a list in order.

use std::collections::HashMap;
use std::hash::Hash;

pub struct Lru<K, V> {
    entries: HashMap<K, (V, u64)>,
    /// Counts uses, to order entries by last use.
    clock: u64,
}

impl<K: Eq + Hash + Copy, V> Default for Lru<K, V> {
    fn default() -> Self {
        Lru { entries: HashMap::new(), clock: 0 }
    }
}

impl<K: Eq + Hash + Copy, V> Lru<K, V> {
    /// The value for `key`, counting as a use.
    pub fn get(&mut self, key: &K) -> Option<&mut V> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(key).map(|(value, last_used)| {
            *last_used = now;
            value
        })
    }

    /// Keep `value` under `key` as the most recently used, first evicting the least recently used
    /// entries until there is room under `cap` (at least 1). Returns what was evicted.
    pub fn insert(&mut self, key: K, value: V, cap: usize) -> Vec<(K, V)> {
        let mut evicted = Vec::new();
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= cap.max(1) {
                let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k) else {
                    break;
                };
                let (value, _) = self.entries.remove(&oldest).expect("the oldest key is present");
                evicted.push((oldest, value));
            }
        }
        self.clock += 1;
        self.entries.insert(key, (value, self.clock));
        evicted
    }

    /// Keep only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain(|key, (value, _)| keep(key, value));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::default();
        assert!(lru.insert('a', 1, 2).is_empty());
        assert!(lru.insert('b', 2, 2).is_empty());
        assert_eq!(lru.get(&'a'), Some(&mut 1), "a is now more recent than b");
        assert_eq!(lru.insert('c', 3, 2), vec![('b', 2)]);
        assert_eq!(lru.get(&'b'), None);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.insert('d', 4, 2), vec![('a', 1)]);
    }

    #[test]
    fn replacing_a_key_evicts_nothing_and_a_lowered_cap_evicts_several() {
        let mut lru = Lru::default();
        for (i, key) in ['a', 'b', 'c'].into_iter().enumerate() {
            lru.insert(key, i, 3);
        }
        assert!(lru.insert('b', 10, 3).is_empty());
        assert_eq!(lru.get(&'b'), Some(&mut 10));
        let evicted: Vec<char> = lru.insert('d', 0, 1).into_iter().map(|(k, _)| k).collect();
        assert_eq!(evicted.len(), 3, "a cap of 1 leaves room for the new entry only: {evicted:?}");
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.insert('e', 0, 0).len(), 1, "a cap of 0 is taken as 1");
    }

    #[test]
    fn retain_drops_what_it_is_told_to() {
        let mut lru = Lru::default();
        (0..5).for_each(|i| drop(lru.insert(i, i * 10, 10)));
        lru.retain(|k, _| k % 2 == 0);
        assert_eq!(lru.len(), 3);
        assert!(lru.get(&1).is_none() && lru.get(&2).is_some());
    }
}
