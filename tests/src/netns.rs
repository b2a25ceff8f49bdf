//! Linux network namespaces for tests that cut and heal the network between real nodes.
//!
//! A [`Lab`] is a hub namespace holding a bridge, and one namespace per node ("site") joined
//! to it by a veth pair: `eth0` in the site, `p<n>` on the bridge. Site `n` has the address
//! `10.77.0.<n+1>/24` on `eth0`, which exists only inside the lab's namespaces; the host's own
//! interfaces, routes and addresses are never touched, and no interface is created in the
//! host's namespace. [`Lab::cut`] takes a site's `eth0` down (its routes go with it, so nothing
//! reaches the others), [`Lab::heal`] brings it back up.
//!
//! A node in a site listens for HTTP on the site's own loopback, so the test reaches it even
//! while the site is cut off: [`get`] and [`post_json`] make the request from a short-lived
//! thread that has entered the site's namespace (`setns(2)` moves just that thread).
//!
//! Namespace names are `daylight-lab-<pid>-<n>-...`; dropping the lab kills what still runs
//! in its namespaces and deletes them, and a new lab first removes those of earlier runs whose
//! process is gone. Making namespaces needs root and iproute2's `ip`; [`unavailable`] says
//! why a test cannot have them, so that it can skip.

use std::ffi::c_int;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, anyhow, bail};

use crate::{NodeProcess, Reply, node_binary};

/// The first part of every namespace name a lab makes.
const PREFIX: &str = "daylight-lab-";

/// A hub namespace with a bridge, and one namespace per site; deleted when dropped.
pub struct Lab {
    hub: String,
    sites: Vec<Site>,
}

/// One node's namespace in a [`Lab`].
pub struct Site {
    /// The namespace name (for `ip netns exec` and [`get`]).
    pub netns: String,
    /// The site's address on the lab's network.
    pub address: Ipv4Addr,
}

/// Runs `ip` with `args`; an error carries its stderr.
fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Why this process cannot make network namespaces (not root, no `ip`, no permission), or
/// `None` if it can.
pub fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Some(format!(
            "network namespaces need root (effective uid {euid})"
        ));
    }
    if let Err(e) = Command::new("ip").arg("-V").output() {
        return Some(format!("the `ip` command (iproute2) is not available: {e}"));
    }
    let probe = format!("{PREFIX}{}-probe", std::process::id());
    if let Err(e) = ip(&["netns", "add", &probe]) {
        return Some(format!("cannot make a network namespace: {e}"));
    }
    let _ = ip(&["netns", "del", &probe]);
    None
}

/// The names of the network namespaces that exist.
fn namespaces() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Kills the processes left in namespace `name` (they were started in it by a lab) and
/// deletes it.
fn delete(name: &str) {
    if let Ok(pids) = ip(&["netns", "pids", name]) {
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = ip(&["netns", "del", name]);
}

/// Deletes the namespaces of earlier labs whose process has ended.
fn remove_stale() {
    for name in namespaces() {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            delete(&name);
        }
    }
}

impl Lab {
    /// A hub and `sites` site namespaces, each site's `eth0` up on the hub's bridge with
    /// address `10.77.0.<n+1>/24`, and its loopback up.
    pub fn new(sites: usize) -> anyhow::Result<Lab> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        assert!(sites < 250, "a lab has at most 249 sites");
        remove_stale();
        let base = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let hub = format!("{base}-hub");
        ip(&["netns", "add", &hub])?;
        // From here on, dropping `lab` deletes whatever was made.
        let mut lab = Lab {
            hub: hub.clone(),
            sites: Vec::new(),
        };
        ip(&["-n", &hub, "link", "set", "lo", "up"])?;
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for n in 0..sites {
            let netns = format!("{base}-{n}");
            ip(&["netns", "add", &netns])?;
            let address = Ipv4Addr::new(10, 77, 0, n as u8 + 1);
            lab.sites.push(Site {
                netns: netns.clone(),
                address,
            });
            let port = format!("p{n}");
            // Both ends are made directly in their namespaces: none ever exists in the host's.
            ip(&[
                "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &netns,
            ])?;
            ip(&["-n", &hub, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &hub, "link", "set", &port, "up"])?;
            ip(&["-n", &netns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
        }
        Ok(lab)
    }

    /// The sites, in order.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Takes site `n`'s link down: it can reach no other site, and none can reach it.
    pub fn cut(&self, n: usize) -> anyhow::Result<()> {
        ip(&["-n", &self.sites[n].netns, "link", "set", "eth0", "down"])?;
        Ok(())
    }

    /// Brings site `n`'s link back up (its address and route come back with it).
    pub fn heal(&self, n: usize) -> anyhow::Result<()> {
        ip(&["-n", &self.sites[n].netns, "link", "set", "eth0", "up"])?;
        Ok(())
    }

    /// Starts `daylight-node run --config <config>` in site `n`'s namespace.
    pub fn start_node(&self, n: usize, config: &Path) -> anyhow::Result<NodeProcess> {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.sites[n].netns])
            .arg(node_binary()?)
            .args(["run", "--config"])
            .arg(config);
        NodeProcess::start_command(command)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for site in &self.sites {
            delete(&site.netns);
        }
        delete(&self.hub);
    }
}

unsafe extern "C" {
    /// `setns(2)`, from the C library the standard library links.
    fn setns(fd: c_int, nstype: c_int) -> c_int;
}

/// `CLONE_NEWNET`: `setns` must move the thread into a network namespace.
const CLONE_NEWNET: c_int = 0x4000_0000;

/// Runs `work` on a new thread that has entered network namespace `netns`, and returns what
/// it returns. The calling thread's namespace is unchanged.
pub fn in_netns<T: Send>(
    netns: &str,
    work: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    let path = Path::new("/run/netns").join(netns);
    let handle = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns reads two integers and changes only this thread's network
                // namespace; `handle` is an open descriptor for the whole call.
                if unsafe { setns(handle.as_raw_fd(), CLONE_NEWNET) } != 0 {
                    bail!(
                        "cannot enter network namespace {netns}: {}",
                        std::io::Error::last_os_error()
                    );
                }
                work()
            })
            .join()
            .map_err(|_| anyhow!("the thread in namespace {netns} panicked"))?
    })
}

/// GET `url` from inside network namespace `netns`.
pub fn get(netns: &str, url: &str) -> anyhow::Result<Reply> {
    in_netns(netns, || crate::get(url))
}

/// POST `body` as JSON to `url` from inside network namespace `netns`.
pub fn post_json(netns: &str, url: &str, body: &[u8]) -> anyhow::Result<Reply> {
    in_netns(netns, || crate::post_json(url, body))
}
