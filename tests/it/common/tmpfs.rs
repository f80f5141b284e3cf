//! A small file system of a test's own, to fill: a tmpfs mounted with `mount`, which needs root
//! (CI runs the tests as root). A test that needs one fails, saying why, when it cannot mount.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted at a directory, unmounted when dropped.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: `2m`) at `path`, creating the directory.
    pub fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).expect("the mount point");
        run(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(path),
            "this test fills a small file system of its own, a tmpfs it mounts, which needs root \
             (or CAP_SYS_ADMIN); run the tests as root, as CI does",
        );
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Gives the file system a new size: space returns (or goes).
    pub fn resize(&self, size: &str) {
        run(
            Command::new("mount")
                .args(["-o", &format!("remount,size={size}")])
                .arg(&self.path),
            "remounting the test's tmpfs",
        );
    }

    /// Fills what is left of the file system with a file of its own, which it returns.
    pub fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).expect("create the filler");
        // Blocks, then smaller pieces down to a byte, until not one more fits.
        for size in [64 * 1024, 4096, 512, 1] {
            let block = vec![0u8; size];
            loop {
                match file.write_all(&block) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling {}: {e}", filler.display()),
                }
            }
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a server of the test may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn run(command: &mut Command, why: &str) {
    let output = command.output();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "{why}: {command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(e) => panic!("{why}: {command:?} could not run: {e}"),
    }
}
