//! `pxe-kit serve` helpers and the lab: a private network namespace, the daemons in it, a
//! blank VM booting through them, the boot timeline, the demo image and libvirt XML.
pub mod boot;
pub mod demo;
pub mod demo_nfs;
pub mod libvirt;
pub mod netns;
pub mod perhost;
pub mod qemu;
pub mod relay;
pub mod timeline;
