//! The lab: blank VMs booting through the real daemons (`serve`) in a private network
//! namespace, the boot timeline, the demo images, libvirt XML for the same setup and a
//! disposable real server VM (`lab server`).
pub mod boot;
pub mod demo;
pub mod libvirt;
pub mod netns;
pub mod office;
pub mod perhost;
pub mod qemu;
pub mod relay;
pub mod routed;
pub mod server;
pub mod storm;
pub mod timeline;
