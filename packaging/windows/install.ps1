#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Installs or upgrades the kpilot agent as a Windows service.

.DESCRIPTION
Run from the unpacked kpilot-agent zip in an Administrator PowerShell:

  .\install.ps1 -Token kpe_...        # first install: enroll with a token from the portal
  .\install.ps1                       # upgrade: replaces kpilot-agent.exe, keeps config and data

It copies kpilot-agent.exe to the install directory, creates the config
and data directory (agent.yaml, the spool, the enrollment credential and
agent.log all live there), restricts that directory to SYSTEM and the
Administrators group (full control; Users get no access: the credential
and the config's secrets are readable by nobody else), enrolls the agent
when a token is given, validates the config, and installs and starts the
service. The service runs as LocalSystem. docs/install.md has the details.

.PARAMETER Token
Enrollment token from the portal's Agents page; enrolls before the start.

.PARAMETER Server
Server URL for the enrollment (default: server.url in agent.yaml).

.PARAMETER InstallDir
Where kpilot-agent.exe goes (default: %ProgramFiles%\kpilot).

.PARAMETER DataDir
Config and data (default: %ProgramData%\kpilot, the agent's own default).

.PARAMETER ServiceName
Service name, to run several agents on one host (default: kpilot-agent).
#>
[CmdletBinding()]
param(
    [string]$Token = "",
    [string]$Server = "",
    [string]$InstallDir = (Join-Path $env:ProgramFiles "kpilot"),
    [string]$DataDir = (Join-Path $env:ProgramData "kpilot"),
    [string]$ServiceName = "kpilot-agent"
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

# Well-known SIDs, not names: names are translated on non-English Windows.
$System = New-Object System.Security.Principal.SecurityIdentifier("S-1-5-18")          # NT AUTHORITY\SYSTEM
$Administrators = New-Object System.Security.Principal.SecurityIdentifier("S-1-5-32-544") # BUILTIN\Administrators

# Invoke-Agent runs kpilot-agent.exe and stops the script when it fails,
# with its own message (it names the config line for a config problem).
function Invoke-Agent {
    param([Parameter(ValueFromRemainingArguments = $true)][string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "kpilot-agent.exe $($Arguments[0]) failed (exit code $LASTEXITCODE); see the message above"
    }
}

# Set-PrivateAcl gives SYSTEM and Administrators full control of a
# directory and everything below it, and nobody else any access: inherited
# entries (Users: read on ProgramData) are removed, not copied.
function Set-PrivateAcl {
    param([string]$Path)
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    $acl.SetOwner($Administrators)
    $inherit = [System.Security.AccessControl.InheritanceFlags]"ContainerInherit, ObjectInherit"
    $propagate = [System.Security.AccessControl.PropagationFlags]::None
    $allow = [System.Security.AccessControl.AccessControlType]::Allow
    $full = [System.Security.AccessControl.FileSystemRights]::FullControl
    foreach ($sid in @($System, $Administrators)) {
        $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($sid, $full, $inherit, $propagate, $allow)))
    }
    Set-Acl -Path $Path -AclObject $acl
    # Files made before (an upgrade) get the directory's entries again.
    Get-ChildItem -Path $Path -Recurse -Force | ForEach-Object {
        $child = Get-Acl -Path $_.FullName
        $child.SetAccessRuleProtection($false, $false)
        foreach ($rule in @($child.Access | Where-Object { -not $_.IsInherited })) { [void]$child.RemoveAccessRule($rule) }
        Set-Acl -Path $_.FullName -AclObject $child
    }
}

$Source = $PSScriptRoot
$Exe = Join-Path $InstallDir "kpilot-agent.exe"
$Config = Join-Path $DataDir "agent.yaml"

$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne "Stopped") {
    Write-Host "Stopping $ServiceName for the upgrade (collected data stays spooled)"
    Stop-Service -Name $ServiceName
}

New-Item -ItemType Directory -Force -Path $InstallDir, $DataDir | Out-Null
Copy-Item -Force (Join-Path $Source "kpilot-agent.exe") $Exe
if (-not (Test-Path $Config)) {
    Copy-Item (Join-Path $Source "agent.yaml") $Config
    Write-Host "Installed the config $Config; set server.url and the collectors in it"
}
Set-PrivateAcl -Path $DataDir

if ($Token -ne "") {
    $enroll = @("enroll", "--config", $Config, "--token", $Token)
    if ($Server -ne "") { $enroll += @("--server", $Server) }
    Invoke-Agent @enroll
}
Invoke-Agent validate --config $Config
if (-not $existing) {
    Invoke-Agent install --name $ServiceName --config $Config
}
Invoke-Agent start --name $ServiceName
Invoke-Agent status --name $ServiceName
