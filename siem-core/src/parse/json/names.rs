//! Interned `winlog.event_data.<Name>` field names.
//!
//! A field name longer than 24 bytes does not fit inline in a `CompactString`, so building
//! `winlog.event_data.` + the EventData name costs an allocation (and a free when the event
//! is dropped) for all but the shortest names: about ten per Windows event, a tenth of its
//! parse time. The names Security auditing, Sysmon, System and Application events use most
//! (every EventData name seen at least 20 times in the `windows-evtx-json` corpus) are kept
//! here as static strings; [`event_data`] finds one with a hash computed at compile time and
//! one comparison, and the event's name then points at the static text.

use std::sync::LazyLock;

use crate::event::StaticName;

/// The prefix every name in [`NAMES`] starts with.
const PREFIX: &str = "winlog.event_data.";

/// The interned names, each `winlog.event_data.` + an EventData name.
const NAMES: [&str; 268] = [
    "winlog.event_data.AS security intelligence creation time",
    "winlog.event_data.AS security intelligence version",
    "winlog.event_data.AV security intelligence creation time",
    "winlog.event_data.AV security intelligence version",
    "winlog.event_data.AccessList",
    "winlog.event_data.AccessMask",
    "winlog.event_data.AccessReason",
    "winlog.event_data.AccountExpires",
    "winlog.event_data.AccountName",
    "winlog.event_data.AdditionalInfo",
    "winlog.event_data.AdditionalInfo2",
    "winlog.event_data.AdditionalInfoHr",
    "winlog.event_data.AllowedToDelegateTo",
    "winlog.event_data.AppCorrelationID",
    "winlog.event_data.Application",
    "winlog.event_data.AttributeLDAPDisplayName",
    "winlog.event_data.AttributeSyntaxOID",
    "winlog.event_data.AttributeValue",
    "winlog.event_data.AuditPolicyChanges",
    "winlog.event_data.AuthenticationLevel",
    "winlog.event_data.AuthenticationPackageName",
    "winlog.event_data.AuthenticationService",
    "winlog.event_data.BM state",
    "winlog.event_data.CallTrace",
    "winlog.event_data.CallerProcessId",
    "winlog.event_data.CallerProcessName",
    "winlog.event_data.CalloutKey",
    "winlog.event_data.CalloutName",
    "winlog.event_data.CategoryId",
    "winlog.event_data.CertIssuerName",
    "winlog.event_data.CertSerialNumber",
    "winlog.event_data.CertThumbprint",
    "winlog.event_data.ChangeType",
    "winlog.event_data.ChannelName",
    "winlog.event_data.ClientIP",
    "winlog.event_data.ClientProcessId",
    "winlog.event_data.CommandLine",
    "winlog.event_data.Company",
    "winlog.event_data.ComputerAccountChange",
    "winlog.event_data.Conditions",
    "winlog.event_data.ConnType",
    "winlog.event_data.ConnectionName",
    "winlog.event_data.ContextInfo",
    "winlog.event_data.CountOfCredentialsReturned",
    "winlog.event_data.CreationUtcTime",
    "winlog.event_data.CurrentDirectory",
    "winlog.event_data.CustomLevel",
    "winlog.event_data.Description",
    "winlog.event_data.DestAddress",
    "winlog.event_data.DestPort",
    "winlog.event_data.DestinationHostname",
    "winlog.event_data.DestinationIp",
    "winlog.event_data.DestinationIsIpv6",
    "winlog.event_data.DestinationPort",
    "winlog.event_data.DestinationPortName",
    "winlog.event_data.Details",
    "winlog.event_data.Direction",
    "winlog.event_data.DisabledPrivilegeList",
    "winlog.event_data.DisplayName",
    "winlog.event_data.DnsHostName",
    "winlog.event_data.ElevatedToken",
    "winlog.event_data.EnabledPrivilegeList",
    "winlog.event_data.Endpoint",
    "winlog.event_data.Engine version",
    "winlog.event_data.ErrorCode",
    "winlog.event_data.EventType",
    "winlog.event_data.ExtraInfo",
    "winlog.event_data.FailureReason",
    "winlog.event_data.FileVersion",
    "winlog.event_data.FilterId",
    "winlog.event_data.FilterKey",
    "winlog.event_data.FilterName",
    "winlog.event_data.FilterRTID",
    "winlog.event_data.FilterType",
    "winlog.event_data.GrantedAccess",
    "winlog.event_data.HandleId",
    "winlog.event_data.HomeDirectory",
    "winlog.event_data.HomePath",
    "winlog.event_data.IOAV state",
    "winlog.event_data.ImageLoaded",
    "winlog.event_data.ImagePath",
    "winlog.event_data.ImpersonationLevel",
    "winlog.event_data.Initiated",
    "winlog.event_data.IntegrityLevel",
    "winlog.event_data.InterfaceUuid",
    "winlog.event_data.IpAddress",
    "winlog.event_data.KeyLength",
    "winlog.event_data.Last AS security intelligence age",
    "winlog.event_data.Last AV security intelligence age",
    "winlog.event_data.Last full scan age",
    "winlog.event_data.Last full scan end time",
    "winlog.event_data.Last full scan source",
    "winlog.event_data.Last full scan start time",
    "winlog.event_data.Last quick scan age",
    "winlog.event_data.Last quick scan end time",
    "winlog.event_data.Last quick scan source",
    "winlog.event_data.Last quick scan start time",
    "winlog.event_data.LayerId",
    "winlog.event_data.LayerKey",
    "winlog.event_data.LayerName",
    "winlog.event_data.LayerRTID",
    "winlog.event_data.LmPackageName",
    "winlog.event_data.LocalizedText",
    "winlog.event_data.LogonGuid",
    "winlog.event_data.LogonHours",
    "winlog.event_data.LogonId",
    "winlog.event_data.LogonProcessName",
    "winlog.event_data.LogonType",
    "winlog.event_data.MandatoryLabel",
    "winlog.event_data.MemberName",
    "winlog.event_data.MemberSid",
    "winlog.event_data.MessageNumber",
    "winlog.event_data.MessageTotal",
    "winlog.event_data.MethodName",
    "winlog.event_data.NRI engine version",
    "winlog.event_data.NRI security intelligence version",
    "winlog.event_data.NetworkAddress",
    "winlog.event_data.NewProcessId",
    "winlog.event_data.NewProcessName",
    "winlog.event_data.NewThreadId",
    "winlog.event_data.NewUacValue",
    "winlog.event_data.OA state",
    "winlog.event_data.ObjectClass",
    "winlog.event_data.ObjectDN",
    "winlog.event_data.ObjectGUID",
    "winlog.event_data.ObjectName",
    "winlog.event_data.ObjectServer",
    "winlog.event_data.ObjectType",
    "winlog.event_data.OldUacValue",
    "winlog.event_data.OpCorrelationID",
    "winlog.event_data.OperationType",
    "winlog.event_data.Options",
    "winlog.event_data.OriginalFileName",
    "winlog.event_data.PackageName",
    "winlog.event_data.ParentCommandLine",
    "winlog.event_data.ParentImage",
    "winlog.event_data.ParentProcessGuid",
    "winlog.event_data.ParentProcessId",
    "winlog.event_data.ParentProcessName",
    "winlog.event_data.ParentUser",
    "winlog.event_data.PasswordLastSet",
    "winlog.event_data.Payload",
    "winlog.event_data.PeerContextInfo",
    "winlog.event_data.PipeName",
    "winlog.event_data.Platform version",
    "winlog.event_data.PreAuthType",
    "winlog.event_data.PrimaryGroupId",
    "winlog.event_data.PrivilegeList",
    "winlog.event_data.ProcNum",
    "winlog.event_data.ProcessCreationTime",
    "winlog.event_data.ProcessGuid",
    "winlog.event_data.ProcessID",
    "winlog.event_data.ProcessId",
    "winlog.event_data.ProcessName",
    "winlog.event_data.Product",
    "winlog.event_data.Product Name",
    "winlog.event_data.Product Version",
    "winlog.event_data.Product status",
    "winlog.event_data.ProfilePath",
    "winlog.event_data.Properties",
    "winlog.event_data.Protocol",
    "winlog.event_data.ProviderKey",
    "winlog.event_data.ProviderName",
    "winlog.event_data.RTP state",
    "winlog.event_data.RelativeTargetName",
    "winlog.event_data.RemoteMachineID",
    "winlog.event_data.RemoteUserID",
    "winlog.event_data.ResourceAttributes",
    "winlog.event_data.RestrictedAdminMode",
    "winlog.event_data.RestrictedSidCount",
    "winlog.event_data.ReturnCode",
    "winlog.event_data.RuleName",
    "winlog.event_data.SamAccountName",
    "winlog.event_data.ScriptBlockId",
    "winlog.event_data.ScriptBlockText",
    "winlog.event_data.ScriptPath",
    "winlog.event_data.SecurityPackageName",
    "winlog.event_data.ServerName",
    "winlog.event_data.Service",
    "winlog.event_data.ServiceName",
    "winlog.event_data.ServicePrincipalNames",
    "winlog.event_data.ServiceSid",
    "winlog.event_data.ServiceType",
    "winlog.event_data.ShareLocalPath",
    "winlog.event_data.ShareName",
    "winlog.event_data.SidHistory",
    "winlog.event_data.SidList",
    "winlog.event_data.Signature",
    "winlog.event_data.SignatureStatus",
    "winlog.event_data.SourceAddress",
    "winlog.event_data.SourceHostname",
    "winlog.event_data.SourceImage",
    "winlog.event_data.SourceIp",
    "winlog.event_data.SourceIsIpv6",
    "winlog.event_data.SourcePort",
    "winlog.event_data.SourcePortName",
    "winlog.event_data.SourceProcessGUID",
    "winlog.event_data.SourceProcessGuid",
    "winlog.event_data.SourceProcessId",
    "winlog.event_data.SourceThreadId",
    "winlog.event_data.SourceUser",
    "winlog.event_data.StartAddress",
    "winlog.event_data.StartFunction",
    "winlog.event_data.StartModule",
    "winlog.event_data.StartType",
    "winlog.event_data.SubStatus",
    "winlog.event_data.SubcategoryGuid",
    "winlog.event_data.SubcategoryId",
    "winlog.event_data.SubjectDomainName",
    "winlog.event_data.SubjectLogonId",
    "winlog.event_data.SubjectUserName",
    "winlog.event_data.SubjectUserSid",
    "winlog.event_data.TargetDomainName",
    "winlog.event_data.TargetFilename",
    "winlog.event_data.TargetImage",
    "winlog.event_data.TargetInfo",
    "winlog.event_data.TargetLinkedLogonId",
    "winlog.event_data.TargetLogonGuid",
    "winlog.event_data.TargetLogonId",
    "winlog.event_data.TargetObject",
    "winlog.event_data.TargetOutboundDomainName",
    "winlog.event_data.TargetOutboundUserName",
    "winlog.event_data.TargetProcessGUID",
    "winlog.event_data.TargetProcessGuid",
    "winlog.event_data.TargetProcessId",
    "winlog.event_data.TargetServerName",
    "winlog.event_data.TargetSid",
    "winlog.event_data.TargetUser",
    "winlog.event_data.TargetUserName",
    "winlog.event_data.TargetUserSid",
    "winlog.event_data.TaskName",
    "winlog.event_data.TerminalSessionId",
    "winlog.event_data.TicketEncryptionType",
    "winlog.event_data.TicketOptions",
    "winlog.event_data.TimezoneBiasHour",
    "winlog.event_data.TokenElevationType",
    "winlog.event_data.TransactionId",
    "winlog.event_data.TransmittedServices",
    "winlog.event_data.TunnelID",
    "winlog.event_data.UserAccountControl",
    "winlog.event_data.UserData",
    "winlog.event_data.UserName",
    "winlog.event_data.UserParameters",
    "winlog.event_data.UserPrincipalName",
    "winlog.event_data.UserSid",
    "winlog.event_data.UserWorkstations",
    "winlog.event_data.UtcTime",
    "winlog.event_data.VirtualAccount",
    "winlog.event_data.Workstation",
    "winlog.event_data.WorkstationName",
    "winlog.event_data.bandwidthLimit",
    "winlog.event_data.bytesTotal",
    "winlog.event_data.bytesTransferred",
    "winlog.event_data.bytesTransferredFromPeer",
    "winlog.event_data.fileCount",
    "winlog.event_data.fileLength",
    "winlog.event_data.fileTime",
    "winlog.event_data.ignoreBandwidthLimitsOnLan",
    "winlog.event_data.isRoaming",
    "winlog.event_data.jobName",
    "winlog.event_data.jobOwner",
    "winlog.event_data.jobTitle",
    "winlog.event_data.payload",
    "winlog.event_data.peerProtocolFlags",
    "winlog.event_data.process",
    "winlog.event_data.processId",
    "winlog.event_data.processPath",
    "winlog.event_data.transferId",
];

/// Slots of the open-addressing table (a power of two, over twice the number of names).
const SLOTS: usize = 1024;

/// `TABLE[h]` is 1 + the index in [`NAMES`] of a name whose probe sequence passes `h`, or 0.
static TABLE: [u16; SLOTS] = build();

/// A hash of an EventData name: its length and its first and last eight bytes (fewer when
/// shorter), mixed by multiplication. `const` so the table is built by the compiler.
const fn hash(key: &[u8]) -> usize {
    let n = key.len();
    let (head, tail) = match (key.first_chunk::<8>(), key.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => {
            let mut v = 0u64;
            let mut i = 0;
            while i < n {
                v = (v << 8) | key[i] as u64;
                i += 1;
            }
            (v, 0)
        }
    };
    let mixed = (head.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ tail.rotate_left(29) ^ n as u64)
        .wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (mixed >> 54) as usize % SLOTS
}

/// The EventData name part of an interned name.
const fn key_of(name: &str) -> &[u8] {
    name.as_bytes().split_at(PREFIX.len()).1
}

const fn build() -> [u16; SLOTS] {
    let mut table = [0u16; SLOTS];
    let mut i = 0;
    while i < NAMES.len() {
        let mut slot = hash(key_of(NAMES[i]));
        while table[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        table[slot] = (i + 1) as u16;
        i += 1;
    }
    table
}

/// The interned `winlog.event_data.<key>`, when `key` is one of the common names.
#[inline]
pub(super) fn event_data(key: &str) -> Option<&'static str> {
    index_of(key).map(|index| NAMES[index])
}

/// [`event_data`] with the name's hash in the event's field index, computed once per process
/// for all the names.
#[inline]
pub(super) fn event_data_static(key: &str) -> Option<&'static StaticName> {
    static HASHED: LazyLock<[StaticName; NAMES.len()]> =
        LazyLock::new(|| NAMES.map(StaticName::new));
    index_of(key).map(|index| &HASHED[index])
}

/// The index in [`NAMES`] of `winlog.event_data.<key>`.
#[inline]
fn index_of(key: &str) -> Option<usize> {
    let mut slot = hash(key.as_bytes());
    loop {
        let index = usize::from(TABLE[slot]).checked_sub(1)?;
        if key_of(NAMES[index]) == key.as_bytes() {
            return Some(index);
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// `match` arms returning the matched literal itself: the value is the input's text.
macro_rules! same_text {
    ($text:expr; $($known:literal),* $(,)?) => {
        match $text {
            $($known => $known,)*
            _ => return None,
        }
    };
}

/// Channel and provider names longer than a `CompactString`'s 24 inline bytes that most
/// Windows events carry, as static text: `winlog.channel`, `winlog.provider_name` and its
/// copy `event.provider` then point at it instead of each costing an allocation and a free
/// per event. Exact (case-sensitive) matches only.
#[inline]
pub(super) fn system_text(text: &str) -> Option<&'static str> {
    if text.len() <= 24 {
        // Inline in a `CompactString` anyway.
        return None;
    }
    Some(same_text!(text;
        "Microsoft-Windows-Security-Auditing",
        "Microsoft-Windows-Sysmon/Operational",
        "Microsoft-Windows-PowerShell/Operational",
        "Microsoft-Windows-PowerShell",
        "Microsoft-Windows-Windows Defender/Operational",
        "Microsoft-Windows-Windows Defender",
        "Microsoft-Windows-Bits-Client/Operational",
        "Microsoft-Windows-Bits-Client",
        "Microsoft-Windows-WMI-Activity/Operational",
        "Microsoft-Windows-WMI-Activity",
        "Microsoft-Windows-TaskScheduler/Operational",
        "Microsoft-Windows-TaskScheduler",
        "Microsoft-Windows-Security-SPP",
        "Microsoft-Windows-Eventlog",
        "Microsoft-Windows-Winlogon",
        "Microsoft-Windows-Kernel-General",
        "Microsoft-Windows-Kernel-Power",
        "Microsoft-Windows-RestartManager",
    ))
}

/// `winlog.provider_guid` (in braces) of the most common providers, from the GUID as
/// `evtx_dump` writes it (no braces) or braced already: static text, no allocation. The
/// result is the input when it is braced, else the input in braces.
#[inline]
pub(super) fn braced_guid(guid: &str) -> Option<&'static str> {
    macro_rules! braced {
        ($inner:expr; $($known:literal),* $(,)?) => {
            match $inner {
                $($known => concat!("{", $known, "}"),)*
                _ => return None,
            }
        };
    }
    let inner = match guid.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => guid,
    };
    Some(braced!(inner;
        "54849625-5478-4994-A5BA-3E3B0328C30D", // Microsoft-Windows-Security-Auditing
        "5770385F-C22A-43E0-BF4C-06F5698FFBD9", // Microsoft-Windows-Sysmon
        "A0C1853B-5C40-4B15-8766-3CF1C58F985A", // Microsoft-Windows-PowerShell
        "11CD958A-C507-4EF3-B3F2-5FD9DFBD2C78", // Microsoft-Windows-Windows Defender
        "11cd958a-c507-4ef3-b3f2-5fd9dfbd2c78",
        "555908d1-a6d7-4695-8e1e-26931d2012f4", // Service Control Manager
        "fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148", // Microsoft-Windows-Eventlog
        "EF1CC15B-46C1-414E-BB95-E76B077BD51E", // Microsoft-Windows-Bits-Client
        "1418EF04-B0B4-4623-BF7E-D74AB47BBDAA", // Microsoft-Windows-WMI-Activity
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_system_text_is_the_input() {
        for text in [
            "Microsoft-Windows-Security-Auditing",
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Windows Defender/Operational",
        ] {
            assert_eq!(system_text(text), Some(text));
        }
        assert_eq!(system_text("microsoft-windows-sysmon/operational"), None);
        assert_eq!(
            braced_guid("54849625-5478-4994-A5BA-3E3B0328C30D"),
            Some("{54849625-5478-4994-A5BA-3E3B0328C30D}")
        );
        assert_eq!(
            braced_guid("{54849625-5478-4994-A5BA-3E3B0328C30D}"),
            Some("{54849625-5478-4994-A5BA-3E3B0328C30D}")
        );
        for other in [
            "54849625-5478-4994-a5ba-3e3b0328c30d",
            "{54849625-5478-4994-A5BA-3E3B0328C30D",
            "{{54849625-5478-4994-A5BA-3E3B0328C30D}}",
            "",
            "{",
        ] {
            assert_eq!(braced_guid(other), None, "{other}");
        }
    }

    #[test]
    fn every_name_is_found_and_nothing_else() {
        for name in NAMES {
            assert!(name.starts_with(PREFIX));
            let key = &name[PREFIX.len()..];
            assert_eq!(event_data(key), Some(name), "{key}");
            assert_eq!(event_data_static(key).map(StaticName::name), Some(name));
            assert_eq!(event_data(&format!("{key}x")), None);
        }
        for key in ["", "a", "CommandLin", "commandline", "Data", "ééééééééé"] {
            assert_eq!(event_data(key), None, "{key}");
        }
        let mut sorted = NAMES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), NAMES.len(), "duplicate names");
    }
}
