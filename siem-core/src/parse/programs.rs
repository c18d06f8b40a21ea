//! Decoders for the programs that write auth logs (sshd, sudo, su, pam_unix, useradd, groupadd, passwd, cron), applied to a syslog message.
