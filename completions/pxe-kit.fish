# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pxe_kit_global_optspecs
    string join \n root= config= dry-run distro= v/verbose q/quiet lock-wait= h/help V/version
end

function __fish_pxe_kit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pxe_kit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pxe_kit_using_subcommand
    set -l cmd (__fish_pxe_kit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -s V -l version -d 'Print version'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "init" -d 'Set up (or re-apply) the boot server: packages, configs, boot loader, labels, firewall, services'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "add-image" -d 'Import a live ISO, or a kernel + root tree, as a bootable image'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "images" -d 'List the images this server boots'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "remove-image" -d 'Remove an image: its files, manifest and menu entry'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "add-host" -d 'Give one machine its own boot entry (by MAC or address) and optionally a fixed lease'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "hosts" -d 'List the machines with their own boot entry'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "remove-host" -d 'Remove a machine\'s boot entry and fixed lease'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "status" -d 'Each machine\'s last boot stage (address, loader, kernel and initramfs, root image), with times and errors, read from the daemons\' logs'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "serve" -d 'Run the DHCP, TFTP and HTTP daemons in the foreground with pxe-kit\'s configs (for hosts whose PID 1 is not systemd, containers and labs)'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "lab" -d 'Prove the chain end to end: boot a blank VM in a private network namespace'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "sync" -d 'Copy images, settings and hosts to the failover partner with rsync over SSH; the partner checks every file\'s SHA-256 before an image becomes bootable there'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "doctor" -d 'Check that the server works: settings, network, services, TFTP/HTTP for real, menu, images, SELinux labels and firewall; exit 0 healthy, 1 problems found, 2 could not run'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "generate-docs" -d 'Write man pages and shell completions (used by the build; hidden)'
complete -c pxe-kit -n "__fish_pxe_kit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l interface -d 'Provisioning interface (the only one the DHCP server serves and the firewall opens)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l server-ip -d 'This server\'s address on the provisioning network [default: the interface\'s]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l subnet -d 'Provisioning subnet in CIDR form [default: the interface\'s]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l range -d 'Dynamic pool, FIRST-LAST [default: the upper half of the subnet]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l router -d 'Default gateway handed to clients' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l dns -d 'DNS servers handed to clients, comma-separated' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l domain-search -d 'DNS search domains, comma-separated' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l time-offset -d 'Clients\' offset from UTC in seconds (DHCP option 2)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l tftp-launcher -d 'How TFTP is launched [default: the distribution\'s way]' -r -f -a "socket\t'systemd tftp.socket (current Fedora / RHEL)'
xinetd\t'xinetd with /etc/xinetd.d/tftp (legacy Fedora, or where xinetd is installed)'
tftpd-hpa\t'tftpd-hpa with /etc/default/tftpd-hpa (Debian, Ubuntu)'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l dhcp-server -d 'The DHCP server; switching stops and disables the other one [default: the saved setting, else ISC dhcpd where the release ships it, Kea on RHEL-family 10 and later]' -r -f -a "isc\t'ISC dhcpd (Fedora, EL9, Debian 12; end of life upstream)'
kea\t'ISC Kea\'s kea-dhcp4 (the only one RHEL 10 and its rebuilds ship)'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l dhcp-mode -d '`server`: pxe-kit\'s DHCP server gives addresses; `proxy`: the network\'s own DHCP server does and pxe-kit answers PXE clients only (proxyDHCP, dnsmasq) [default: the saved setting, else server]' -r -f -a "server\t'pxe-kit\'s DHCP server gives addresses and boot files'
proxy\t'The network\'s DHCP server gives addresses; pxe-kit\'s dnsmasq answers PXE clients'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l serial -d 'Serial console for the boot menu and kernels, PORT,BAUD (e.g. 0,115200)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l peer -d 'The partner of a failover pair: the other boot server\'s address on the provisioning network (`none` leaves the pair). Needs --role the first time' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l role -d 'This server\'s part in the pair' -r -f -a "primary\t'Holds the failover split (dhcpd\'s mclt/split; Kea\'s primary)'
secondary\t'The other member'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l ha-mode -d 'How the pair shares the machines [default: load-balancing]' -r -f -a "load-balancing\t'Both servers answer, each for half of the machines; either takes all when the other is gone'
hot-standby\t'The primary answers; the secondary takes over when it goes silent'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l allow-other-dhcp -d 'Serve addresses even though another DHCP server answers on the interface (a segment split some other way); saved in the settings (`dhcp.allow_other_dhcp`)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l firewall-takeover -d 'Move the provisioning interface into firewalld\'s pxe-kit zone even when its current zone allows more than services and ports (an accepting target, rich rules, forwarding), which then no longer apply there. Services and ports are always kept'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l kernel -d 'Kernel for the kernel + root tree form; with --nfs, the tree\'s kernel version (or path) when it holds several' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l nfs -d 'Export this root tree read-only over NFS and boot it with root=nfs:SERVER:PATH' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l rootfs -d 'Root tree (a directory, squashed with mksquashfs) or an existing squashfs/EROFS image' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l initrd -d 'Existing initramfs to use instead of building one with dracut' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l name -d 'Image name (menu label) [default: derived from the ISO or root tree name]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l append -d 'Extra kernel arguments, as the kernel reads them (`quiet acpi_osi="!Windows 2012"`). Words every loader (pxelinux, GRUB, iPXE) passes alike; `;`, `||`, `&&`, `#…`, `${`, `\'`, `\\` and non-ASCII are refused' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l default -d 'Make this image the menu default'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l dracut -d 'Build the initramfs with dracut even when the ISO\'s own can boot over the network'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-image" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l json -d 'Machine-readable output'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand images" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l force -d 'Remove it even though hosts boot it (their entries go too)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-image" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l image -d 'Image the machine boots (with --csv: for lines that name none)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l csv -d 'Many machines from a CSV file: mac,hostname,ip,image per line (a header line naming the columns is allowed)' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l names -d 'Many machines from a hostlist of names, e.g. node[001-500] (with --ips and/or --macs)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l ips -d 'With --names: their addresses, counted up from FIRST (or exactly FIRST-LAST)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l macs -d 'With --names: their MACs, counted up from FIRST' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l ip -d 'Fixed address (a dhcpd host block or Kea reservation; outside the dynamic pool)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l hostname -d 'Host name handed out with the fixed lease' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand add-host" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l json -d 'Machine-readable output'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand hosts" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand remove-host" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l since -d 'How far back to read the logs (e.g. 30m, 2h, 1day; at most 10 years)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l watch -d 'Redraw every 2 seconds until interrupted'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l json -d 'Machine-readable output'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand status" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l run-dir -d 'Directory for the daemons\' runtime files (generated apache config, pid files, sockets) [default: a temporary directory removed on exit]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand serve" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "boot" -d 'Boot a blank VM from this (staged) server inside a private network namespace'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "demo" -d 'Build a demo image from this host (no downloads), stage a server and boot it'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "libvirt-network" -d 'Print an isolated libvirt network without DHCP (pxe-kit\'s DHCP server serves it)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "libvirt-vm" -d 'Print a libvirt domain that boots from the network with no disk'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "relay" -d 'Relay the VM\'s frames to the lab tap with a delay (used by `lab boot --latency`)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "storm" -d 'Power on hundreds of simulated PXE machines at once against a served server in the lab\'s private network; report each stage\'s percentiles, DHCP answers, leases per machine and the time until all booted'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "storm-clients" -d 'The storm\'s simulated machines (run by `lab storm` inside its namespace)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "server" -d 'Rehearse the live path on a disposable real server: a Debian 12 VM (systemd, SELinux enforcing, firewalld, NetworkManager) built from the distribution\'s packages, pxe-kit installed from its .deb and run live (init, add-image of a live ISO, doctor), then a blank client PXE-boots through it; prints pass/fail facts and timings'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and not __fish_seen_subcommand_from boot demo libvirt-network libvirt-vm relay storm storm-clients server help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l image -d 'Image to boot [default: the menu default]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l pattern -d 'Success marker on the serial console [default: the demo\'s marker]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l timeout -d 'Seconds to wait for the marker' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l mac -d 'MAC address of the VM\'s NIC' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l memory -d 'VM memory in MiB (the live image is held in RAM)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l latency -d 'Delay every frame between the VM and the server by MS milliseconds each way (round trip 2 x MS): netem, or a userspace relay where the kernel has no netem' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l keep -d 'Keep the lab\'s work directory (logs, serial console) and print where it is'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l uefi -d 'UEFI firmware (OVMF, no Secure Boot) instead of BIOS (SeaBIOS)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l secure-boot -d 'UEFI with Secure Boot enforced (OVMF\'s secboot build, Microsoft\'s keys enrolled); implies --uefi and --no-ipxe-rom (shim cannot verify GRUB fetched through iPXE)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l no-ipxe-rom -d 'UEFI only: no iPXE ROM on the NIC, so the firmware\'s own PXE boots, as on most real machines'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l direct -d 'Boot the image\'s kernel and initrd directly (QEMU -kernel), no firmware, DHCP or loader before the kernel: the floor for boot-time comparisons'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l relay -d 'Put the VM on the settings\' first relayed subnet (`subnets:`), behind a router namespace that forwards to the server and relays DHCP with ISC\'s dhcrelay'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from boot" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l image -d 'Image to boot [default: the menu default]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l pattern -d 'Success marker on the serial console [default: the demo\'s marker]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l timeout -d 'Seconds to wait for the marker' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l mac -d 'MAC address of the VM\'s NIC' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l memory -d 'VM memory in MiB (the live image is held in RAM)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l latency -d 'Delay every frame between the VM and the server by MS milliseconds each way (round trip 2 x MS): netem, or a userspace relay where the kernel has no netem' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l dhcp-server -d 'The staged server\'s DHCP server [default: isc]' -r -f -a "isc\t'ISC dhcpd (Fedora, EL9, Debian 12; end of life upstream)'
kea\t'ISC Kea\'s kea-dhcp4 (the only one RHEL 10 and its rebuilds ship)'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l keep -d 'Keep the lab\'s work directory (logs, serial console) and print where it is'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l uefi -d 'UEFI firmware (OVMF, no Secure Boot) instead of BIOS (SeaBIOS)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l secure-boot -d 'UEFI with Secure Boot enforced (OVMF\'s secboot build, Microsoft\'s keys enrolled); implies --uefi and --no-ipxe-rom (shim cannot verify GRUB fetched through iPXE)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l no-ipxe-rom -d 'UEFI only: no iPXE ROM on the NIC, so the firmware\'s own PXE boots, as on most real machines'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l direct -d 'Boot the image\'s kernel and initrd directly (QEMU -kernel), no firmware, DHCP or loader before the kernel: the floor for boot-time comparisons'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l relay -d 'Put the VM on the settings\' first relayed subnet (`subnets:`), behind a router namespace that forwards to the server and relays DHCP with ISC\'s dhcrelay'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l no-boot -d 'Build and stage the demo server, print its root and stop (implies --keep)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l proxy-dhcp -d 'The network already has DHCP: an ISC dhcpd with no PXE options and a pool of its own (in a namespace of its own on the lab\'s segment) gives the VM its address, and pxe-kit in proxy mode (dnsmasq) gives the boot file'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l nfs -d 'Demo the NFS-root and per-machine paths instead: an NFS root tree served by nfs-ganesha, added as image `terminal` for --mac only (add-host, fixed address), the menu default left at `local`'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l name -d 'Network name' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l bridge -d 'Bridge libvirt creates (the interface pxe-kit serves)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-network" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l mac -d 'MAC address of the VM\'s NIC' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l name -d 'Domain name' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l memory -d 'Memory in MiB' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l network -d 'libvirt network the NIC joins' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l kernel -d 'Boot this kernel directly instead of from the network' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l initrd -d 'Initramfs for --kernel' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l cmdline -d 'Kernel command line for --kernel' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from libvirt-vm" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l tap -d 'The tap to attach to' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l listen -d 'UDP port on 127.0.0.1 QEMU sends to' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l qemu -d 'UDP port on 127.0.0.1 QEMU listens on' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l delay-ms -d 'One-way delay in milliseconds' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from relay" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l clients -d 'How many machines power on' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l rate -d 'Machines powered on per second (each sends its DHCPDISCOVER then)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l link -d 'Limit the server\'s link to this many Mbit/s (tc tbf)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l image -d 'Image to boot, with --root [default: the menu default]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l uefi -d 'Share of UEFI machines, in percent (the rest are BIOS)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l sizes -d 'Sizes of the synthetic image when no --root is given: kernel, initramfs and root, in MiB' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l timeout -d 'Seconds after which every machine still booting gives up' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l dhcp-server -d 'The synthetic servers\' DHCP server [default: the release\'s]' -r -f -a "isc\t'ISC dhcpd (Fedora, EL9, Debian 12; end of life upstream)'
kea\t'ISC Kea\'s kea-dhcp4 (the only one RHEL 10 and its rebuilds ship)'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l ha-mode -d 'The pair\'s mode' -r -f -a "load-balancing\t'Both servers answer, each for half of the machines; either takes all when the other is gone'
hot-standby\t'The primary answers; the secondary takes over when it goes silent'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l kill-after -d 'Kill the primary this many seconds after the first power-on, or `never`' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l kill-at-transfer -d 'Kill the primary as the Nth machine starts its loader transfer from it: that machine is then mid-boot on it [default: a quarter of the machines]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l json -d 'Machine-readable report'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l keep -d 'Keep the storm\'s work directory (logs, the machines\' results) and print where it is'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l pair -d 'Storm a failover pair: two servers (primary 10.78.0.1, secondary 10.78.0.2), each with its own link, the primary\'s daemons killed mid-storm; machines it breaks power on again and must finish on the survivor'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l plan -d 'The storm\'s plan (JSON)' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l out -d 'Where the machines\' results go (JSON)' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from storm-clients" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l deb -d 'The pxe-kit package to install in the VM [default: the newest target/debian/pxe-kit_*.deb under the current directory, as packaging/build.sh leaves it]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l cache -d 'Where server images are cached, one per content key' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l mirror -d 'Debian mirror for the image build [default: this host\'s apt sources]' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l timeout -d 'Seconds the whole VM run may take (TCG on a busy host is slow)' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l client-timeout -d 'Seconds the client VM gets to reach the demo marker' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l memory -d 'Server VM memory in MiB' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l rebuild -d 'Build the image again even when the cache has one for the current key'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l image-only -d 'Only make sure the cached image is there (build it when missing), then stop'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l keep -d 'Keep the work directory (the guest\'s logs, journal, audit log, serial consoles, the disk overlay) and print where it is; it is always kept, without the overlay, when a check fails'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l json -d 'Machine-readable report on stdout (the human one goes to stderr)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from server" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "boot" -d 'Boot a blank VM from this (staged) server inside a private network namespace'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "demo" -d 'Build a demo image from this host (no downloads), stage a server and boot it'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "libvirt-network" -d 'Print an isolated libvirt network without DHCP (pxe-kit\'s DHCP server serves it)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "libvirt-vm" -d 'Print a libvirt domain that boots from the network with no disk'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "relay" -d 'Relay the VM\'s frames to the lab tap with a delay (used by `lab boot --latency`)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "storm" -d 'Power on hundreds of simulated PXE machines at once against a served server in the lab\'s private network; report each stage\'s percentiles, DHCP answers, leases per machine and the time until all booted'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "storm-clients" -d 'The storm\'s simulated machines (run by `lab storm` inside its namespace)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "server" -d 'Rehearse the live path on a disposable real server: a Debian 12 VM (systemd, SELinux enforcing, firewalld, NetworkManager) built from the distribution\'s packages, pxe-kit installed from its .deb and run live (init, add-image of a live ISO, doctor), then a blank client PXE-boots through it; prints pass/fail facts and timings'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l ssh-command -d 'The SSH command rsync and the partner\'s pxe-kit run through' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l remote-pxe-kit -d 'pxe-kit on the partner' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l remote-root -d 'The partner\'s root (a staged root, for tests) [default: /]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l accept -d 'Run on the partner by `sync`: take in what the named member sent' -r -f -a "primary\t'Holds the failover split (dhcpd\'s mclt/split; Kea\'s primary)'
secondary\t'The other member'"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l print-index -d 'Print this server\'s image list (names and manifest checksums) as JSON, for the partner\'s doctor'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand sync" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l json -d 'Machine-readable report (schema in docs/doctor-json.md)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l fix -d 'Repair what can be repaired (rendered files, labels, firewall, services), then check again and report before and after'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l deep -d 'Also hash every image in full: root images over HTTP and on disk, kernels and initrds over TFTP (slow on large images)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l list -d 'List the checks and exit'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l out -d 'Directory that receives man/ and completions/' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l root -d 'Act on DIR as if it were /: files are read and written under DIR and commands that would change the live system are listed, not run' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l config -d 'Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml]' -r -F
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l distro -d 'Distribution profile [default: detected from <root>/etc/os-release]' -r -f -a "fedora\t''
rhel\t''
debian\t''"
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l lock-wait -d 'How long a command that changes the server waits for another one to finish (they take turns on a lock); 0 refuses at once' -r
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -l dry-run -d 'Show a unified diff of every file and every command; change nothing'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -s v -l verbose -d 'Print each command before running it, and diffs of changed files'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -s q -l quiet -d 'Print errors only'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "init" -d 'Set up (or re-apply) the boot server: packages, configs, boot loader, labels, firewall, services'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "add-image" -d 'Import a live ISO, or a kernel + root tree, as a bootable image'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "images" -d 'List the images this server boots'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "remove-image" -d 'Remove an image: its files, manifest and menu entry'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "add-host" -d 'Give one machine its own boot entry (by MAC or address) and optionally a fixed lease'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "hosts" -d 'List the machines with their own boot entry'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "remove-host" -d 'Remove a machine\'s boot entry and fixed lease'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "status" -d 'Each machine\'s last boot stage (address, loader, kernel and initramfs, root image), with times and errors, read from the daemons\' logs'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "serve" -d 'Run the DHCP, TFTP and HTTP daemons in the foreground with pxe-kit\'s configs (for hosts whose PID 1 is not systemd, containers and labs)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "lab" -d 'Prove the chain end to end: boot a blank VM in a private network namespace'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "sync" -d 'Copy images, settings and hosts to the failover partner with rsync over SSH; the partner checks every file\'s SHA-256 before an image becomes bootable there'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "doctor" -d 'Check that the server works: settings, network, services, TFTP/HTTP for real, menu, images, SELinux labels and firewall; exit 0 healthy, 1 problems found, 2 could not run'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "generate-docs" -d 'Write man pages and shell completions (used by the build; hidden)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and not __fish_seen_subcommand_from init add-image images remove-image add-host hosts remove-host status serve lab sync doctor generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "boot" -d 'Boot a blank VM from this (staged) server inside a private network namespace'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "demo" -d 'Build a demo image from this host (no downloads), stage a server and boot it'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "libvirt-network" -d 'Print an isolated libvirt network without DHCP (pxe-kit\'s DHCP server serves it)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "libvirt-vm" -d 'Print a libvirt domain that boots from the network with no disk'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "relay" -d 'Relay the VM\'s frames to the lab tap with a delay (used by `lab boot --latency`)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "storm" -d 'Power on hundreds of simulated PXE machines at once against a served server in the lab\'s private network; report each stage\'s percentiles, DHCP answers, leases per machine and the time until all booted'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "storm-clients" -d 'The storm\'s simulated machines (run by `lab storm` inside its namespace)'
complete -c pxe-kit -n "__fish_pxe_kit_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "server" -d 'Rehearse the live path on a disposable real server: a Debian 12 VM (systemd, SELinux enforcing, firewalld, NetworkManager) built from the distribution\'s packages, pxe-kit installed from its .deb and run live (init, add-image of a live ISO, doctor), then a blank client PXE-boots through it; prints pass/fail facts and timings'
