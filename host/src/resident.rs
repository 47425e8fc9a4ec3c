//! What of the server's code stays in memory once it is up.
//!
//! Most of an idle server's resident memory was file pages (31-33 MiB of 40, measured): its
//! binary's code, much of it run once at start-up (configuration, migrations, the router and its
//! OpenAPI document, loading nine plugins), and the plugins' compilations, mapped from the compile
//! cache and read at load. Once the plugins are in and the router is built, those read-only
//! mappings are handed back to the kernel (`MADV_PAGEOUT`, Linux 5.4+): every resident page of
//! them, so the pages serving uses come back from their files at first use (a page fault that
//! reads the file) and those only start-up used stay out. The kernel does the same under memory
//! pressure; this does it at the one moment known to end start-up.
//!
//! The kernel pages out a file's pages only for a process that owns the file or may write it:
//! a binary owned by root and run by a service user (`deploy/`) keeps its pages, and only the
//! compilations (the service user's own files in its data folder) go back. Pages another process
//! maps too are left alone. Anonymous memory (the heap, the plugins' instances) is not touched:
//! `heap` returns that.

use std::path::Path;

/// Hands back the resident pages of the read-only mappings of this process's executable and of
/// the compilations in `compiled_plugins` (the compile cache folder). Nothing is lost: they
/// are read from their files again when used. Where that cannot be done (another kernel, no
/// `/proc`) everything stays as it was.
pub fn release_start_up_code(compiled_plugins: &Path) {
    #[cfg(target_os = "linux")]
    {
        let Ok(exe) = std::fs::read_link("/proc/self/exe") else { return };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
        // The kernel names mappings by their absolute, resolved paths.
        let compiled_plugins = compiled_plugins.canonicalize().unwrap_or_else(|_| compiled_plugins.to_owned());
        let start_up_only = |mapped: &Path| mapped == exe.as_path() || mapped.starts_with(&compiled_plugins);
        let (mut released, mut mappings) = (0usize, 0usize);
        for (start, end) in read_only_mappings(&maps, start_up_only) {
            // SAFETY: the range is one whole read-only mapping of a file; MADV_PAGEOUT only drops
            // its resident pages, which later reads fault back in from the file, unchanged.
            #[allow(unsafe_code)]
            let answer = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
            if answer == 0 {
                released += end - start;
                mappings += 1;
            }
        }
        tracing::debug!(mappings, mapped_mib = released >> 20, "start-up code handed back to the kernel");
    }
}

/// The `(start, end)` of the mappings in `/proc/self/maps` text that are not writable and whose
/// file `wanted` takes.
fn read_only_mappings(maps: &str, wanted: impl Fn(&Path) -> bool) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            // `start-end perms offset dev inode path`; the path may hold spaces.
            let mut fields = line.splitn(6, ' ');
            let (range, perms) = (fields.next()?, fields.next()?);
            let mapped = fields.nth(3)?.trim_start();
            if !mapped.starts_with('/') || perms.as_bytes().get(1) != Some(&b'-') || !wanted(Path::new(mapped)) {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::read_only_mappings;

    #[test]
    fn only_unwritable_mappings_of_the_wanted_files_are_taken() {
        let maps = "\
55d0a0000000-55d0a1000000 r--p 00000000 fd:01 1234                       /srv/switchboard bin/switchboard
55d0a1000000-55d0a3000000 r-xp 01000000 fd:01 1234                       /srv/switchboard bin/switchboard
55d0a3000000-55d0a3100000 rw-p 03000000 fd:01 1234                       /srv/switchboard bin/switchboard
55d0a3100000-55d0a3200000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000100000 r-xp 00000000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 r-xp 00000000 fd:01 77                         /var/lib/switchboard/cache/ab12-5f93.cwasm
7f0000300000-7f0000400000 rw-p 00000000 00:00 0 
";
        let wanted = |path: &Path| path == Path::new("/srv/switchboard bin/switchboard") || path.starts_with("/var/lib/switchboard/cache");
        assert_eq!(
            read_only_mappings(maps, wanted),
            vec![(0x55d0a0000000, 0x55d0a1000000), (0x55d0a1000000, 0x55d0a3000000), (0x7f0000200000, 0x7f0000300000)]
        );
    }

    /// KiB resident in the mappings of `/proc/self/smaps` that start at one of `starts`.
    fn resident_kib(starts: &[usize]) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let (mut counted, mut kib) = (false, 0);
        for line in smaps.lines() {
            if let Some(rss) = line.strip_prefix("Rss:") {
                if counted {
                    kib += rss.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
                }
            } else if let Some((start, _)) = line.split_once('-')
                && let Ok(start) = usize::from_str_radix(start, 16)
            {
                counted = starts.contains(&start);
            }
        }
        kib
    }

    /// The type of the file system `path` is on (`/proc/self/mountinfo`: the longest mount point
    /// that holds it; fields `... mount-point ... - type ...`).
    fn file_system_of(path: &Path) -> Option<String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        mounts
            .lines()
            .filter_map(|line| {
                let (before, after) = line.split_once(" - ")?;
                let point = Path::new(before.split(' ').nth(4)?);
                let kind = after.split(' ').next()?;
                path.starts_with(point).then(|| (point.as_os_str().len(), kind.to_owned()))
            })
            .max_by_key(|(length, _)| *length)
            .map(|(_, kind)| kind)
    }

    /// This process's own maps, as the kernel writes them: the code running this test lies in
    /// a mapping taken; the page-out takes resident pages of those mappings away, and the code
    /// still runs after it (paged out, not unmapped).
    #[test]
    fn the_running_code_is_in_a_mapping_taken_and_runs_on_after_the_page_out() {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let taken = read_only_mappings(&maps, |path| path == exe.as_path());
        let code = read_only_mappings as fn(&str, fn(&Path) -> bool) -> Vec<(usize, usize)> as usize;
        assert!(taken.iter().any(|&(start, end)| (start..end).contains(&code)), "{code:#x} is in none of {taken:x?}");
        let starts: Vec<usize> = taken.iter().map(|&(start, _)| start).collect();
        let before = resident_kib(&starts);
        super::release_start_up_code(Path::new("/nonexistent"));
        let after = resident_kib(&starts);
        // The test binary belongs to whoever built it, who runs it: the kernel may page it out
        // (measured: 3.3-9.5 MiB down to 0.9; other tests running meanwhile fault a little of
        // their code back in). A build folder in memory (tmpfs) has no file to page out to.
        if file_system_of(&exe).is_some_and(|kind| kind == "tmpfs" || kind == "ramfs") {
            eprintln!("{} is on a memory file system: its pages stay resident", exe.display());
        } else {
            assert!(after < before, "the binary's read-only mappings held {before} KiB before the page-out and {after} KiB after");
        }
        let again = std::fs::read_to_string("/proc/self/maps").unwrap();
        let taken_after = read_only_mappings(&again, |path| path == exe.as_path());
        assert!(taken_after.iter().any(|&(start, end)| (start..end).contains(&code)), "{code:#x} is in none of {taken_after:x?}");
    }

    #[test]
    fn a_replaced_binary_is_still_found_and_lines_without_a_path_are_passed_over() {
        // An upgrade renames a new binary into place: the kernel names the running one
        // `... (deleted)`, in `/proc/self/exe` and in the maps alike.
        let maps = "55d0a0000000-55d0a1000000 r-xp 00000000 fd:01 1234                       /usr/local/bin/switchboard (deleted)
7f0000000000-7f0000100000 r--p 00000000 00:00 0
7f0000100000-7f0000200000 r--p 00000000 00:00 0 
7f0000200000-7f0000300000 r--s 00000000 00:01 5                          /memfd:wasm (deleted)
";
        let wanted = |path: &Path| path == Path::new("/usr/local/bin/switchboard (deleted)");
        assert_eq!(read_only_mappings(maps, wanted), vec![(0x55d0a0000000, 0x55d0a1000000)]);
    }
}
