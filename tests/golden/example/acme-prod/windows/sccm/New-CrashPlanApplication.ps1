<#
.SYNOPSIS
Creates or updates the Configuration Manager application for CrashPlan 11.7.0, policy acme-prod.

.DESCRIPTION
Written by agentpack. First checks that ContentShare holds every content file of this build
(CrashPlan_11.7.0_911_Win64.msi, acme-prod.mst) with its size and SHA-256: a client that gets the MSI without
this transform fails (msiexec 1624). Then creates the application and its Windows Installer
deployment type when missing; otherwise changes only what differs from this build (commands,
content location, detection, return codes), since every change makes a new application
revision. Finally sends the content to the distribution points. Supports -WhatIf and -Confirm.
The deployment token is in the transform only, never in this script.

.PARAMETER SiteCode
The Configuration Manager site code, e.g. P01.

.PARAMETER ContentShare
UNC folder holding this policy's MSI and transform, e.g. \\server\sources$\acme-prod.

.PARAMETER ProviderMachineName
SMS Provider server, when the site drive does not exist yet in this session.

.PARAMETER DistributionPointGroupName
Distribute a new application's content to this distribution point group. An existing
application's content is refreshed on the distribution points that already hold it.

.PARAMETER SkipHashCheck
Check each content file's presence and size only, not its SHA-256 (a large MSI on a slow share).

.EXAMPLE
.\New-CrashPlanApplication.ps1 -SiteCode P01 -ContentShare \\server\sources$\acme-prod -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[A-Za-z0-9]{3}$')]
    [string] $SiteCode,

    [Parameter(Mandatory)]
    [ValidatePattern('^\\\\[^\\]+\\[^\\]+')]
    [string] $ContentShare,

    [string] $ProviderMachineName,

    [string] $DistributionPointGroupName,

    [switch] $SkipHashCheck
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Values read from the vendor MSI and the policy at build time.
$ApplicationName    = 'CrashPlan 11.7.0 (acme-prod)'
$Publisher          = 'CrashPlan Group LLC'
$SoftwareVersion    = '11.7.0'
$DeploymentTypeName = 'acme-prod - Windows Installer (.msi)'
$MsiFile            = 'CrashPlan_11.7.0_911_Win64.msi'
$ProductCode        = '{9556A5AC-B320-4D10-9953-A7A3FDA9F882}'
$InstallCommand     = 'msiexec /i "CrashPlan_11.7.0_911_Win64.msi" TRANSFORMS="acme-prod.mst" /qn /norestart /l*v "%WINDIR%\Temp\crashplan-install.log"'
$UninstallCommand   = 'msiexec /x {9556A5AC-B320-4D10-9953-A7A3FDA9F882} /qn /norestart'
$InstallBehavior    = 'InstallForSystem'
$LogonRequirement   = 'WhetherOrNotUserLoggedOn'
$ReturnCodes = @(
    @{ Code = 0; Type = 'Success'; Name = 'Success' }
    @{ Code = 1707; Type = 'Success'; Name = 'Success' }
    @{ Code = 3010; Type = 'SoftReboot'; Name = 'Soft reboot' }
    @{ Code = 1641; Type = 'HardReboot'; Name = 'Hard reboot' }
    @{ Code = 1618; Type = 'FastRetry'; Name = 'Fast retry' }
)
# The content files as built (sccm/deployment-type.json): size in bytes, SHA-256.
$ContentFiles = @(
    @{ Name = 'CrashPlan_11.7.0_911_Win64.msi'; Size = 9728; Sha256 = '97bd8a42ab8e50165577b05c37e4666532fc781c52345ee3f580f059485281b8' }
    @{ Name = 'acme-prod.mst'; Size = 3584; Sha256 = '1ead0beeb84c708e421de0fe8e418ed4920f63aeb3420f342ea586b3ccea3dc7' }
)

$share = $ContentShare.TrimEnd('\')
$contentLocation = $share + '\' + $MsiFile

# Every content file, as built, before anything changes in ConfigMgr. Provider-qualified paths:
# from a CMSite drive location, a bare UNC path is not a FileSystem path.
$problems = @(foreach ($file in $ContentFiles) {
    $path = $share + '\' + $file.Name
    $fsPath = 'Microsoft.PowerShell.Core\FileSystem::' + $path
    if (-not (Test-Path -LiteralPath $fsPath -PathType Leaf)) {
        "missing: $path"
        continue
    }
    $size = (Get-Item -LiteralPath $fsPath).Length
    if ($size -ne $file.Size) {
        "differs: $path has $size bytes, this build's has $($file.Size)"
        continue
    }
    if (-not $SkipHashCheck) {
        # -ne ignores case: Get-FileHash gives upper-case hex, the build lower-case.
        $hash = (Get-FileHash -LiteralPath $fsPath -Algorithm SHA256).Hash
        if ($hash -ne $file.Sha256) {
            "differs: $path has SHA-256 $hash, this build's has $($file.Sha256)"
        }
    }
})
if ($problems.Count -gt 0) {
    $names = ($ContentFiles | ForEach-Object { $_.Name }) -join ', '
    throw ("The content share does not hold this build's files:`n  " + ($problems -join "`n  ") +
        "`nCopy $names from this policy's windows folder to $share, then run this script again" +
        ' (-SkipHashCheck compares sizes only).')
}

# The current deployment type is read from its SDMPackageXML with XPath on local-name() (the
# digest's parts are in different namespaces): a missing element gives $null, where property
# access would throw under StrictMode. $null means "cannot tell", and the setting is written as
# on a first run. Where the digest records each setting this script makes:
$DigestXPath = @{
    InstallCommand      = '//*[local-name()="Installer"]/*[local-name()="CustomData"]/*[local-name()="InstallCommandLine"]'
    UninstallCommand    = '//*[local-name()="Installer"]/*[local-name()="CustomData"]/*[local-name()="UninstallCommandLine"]'
    UserInteraction     = '//*[local-name()="Installer"]/*[local-name()="CustomData"]/*[local-name()="UserInteractionMode"]'
    RunContext          = '//*[local-name()="InstallAction"]//*[local-name()="Arg"][@Name="ExecutionContext"]'
    RequiresLogOn       = '//*[local-name()="InstallAction"]//*[local-name()="Arg"][@Name="RequiresLogOn"]'
    ContentFolder       = '//*[local-name()="Contents"]/*[local-name()="Content"]/*[local-name()="Location"]'
    Detection           = '//*[local-name()="EnhancedDetectionMethod"]'
    DetectionBody       = '//*[local-name()="DetectAction"]//*[local-name()="Arg"][@Name="MethodBody"]'
    DetectionSettings   = '//*[local-name()="EnhancedDetectionMethod"]/*[local-name()="Settings"]/*'
    DetectionReferences = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]'
    DetectionProduct    = '//*[local-name()="EnhancedDetectionMethod"]/*[local-name()="Settings"]/*[local-name()="MSI"]/*[local-name()="ProductCode"]'
    DetectionSource     = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]/@SettingSourceType'
    DetectionProperty   = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]/@PropertyPath'
    DetectionMethod     = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]/@Method'
    DetectionOperator   = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]/../../*[local-name()="Operator"]'
    DetectionValue      = '//*[local-name()="EnhancedDetectionMethod"]//*[local-name()="SettingReference"]/../*[local-name()="ConstantValue"]/@Value'
    ExitCodes           = '//*[local-name()="CustomData"]/*[local-name()="ExitCodes"]'
    ExitCodeClass       = '//*[local-name()="CustomData"]/*[local-name()="ExitCodes"]/*[local-name()="ExitCode"][@Code="{0}"]/@Class'
}

function Read-Digest($DeploymentType) {
    try { return , ([xml] $DeploymentType.SDMPackageXML) } catch { return $null }
}
function Get-DigestText($Digest, [string] $XPath) {
    if ($null -eq $Digest) { return $null }
    $node = $Digest.SelectSingleNode($XPath)
    if ($null -eq $node) { return $null }
    return $node.InnerText
}

# True when the digest records exactly this build's commands, content folder and behaviour.
function Test-DeploymentTypeCurrent($Digest) {
    $want = @{
        InstallCommand   = $InstallCommand
        UninstallCommand = $UninstallCommand
        UserInteraction  = 'Hidden'
        # InstallationBehaviorType, as the install action's ExecutionContext.
        RunContext       = @{ InstallForSystem = 'System'; InstallForUser = 'User' }[$InstallBehavior]
    }
    # LogonRequirementType, as RequiresLogOn: empty for "whether or not a user is logged on".
    if ($LogonRequirement) {
        $want.RequiresLogOn = @{ WhetherOrNotUserLoggedOn = ''; OnlyWhenUserLoggedOn = 'true'; OnlyWhenNoUserLoggedOn = 'false' }[$LogonRequirement]
    }
    foreach ($name in $want.Keys) {
        $have = Get-DigestText $Digest $DigestXPath[$name]
        if ($null -eq $have -or $have -cne $want[$name]) { return $false }
    }
    $folder = Get-DigestText $Digest $DigestXPath.ContentFolder
    return ($null -ne $folder -and $folder.TrimEnd('\') -eq $share)
}

# True when the detection method is exactly the one clause this script sets: the ProductCode
# at ProductVersion equal to this version. Inline in the digest, or escaped in the detect action.
function Test-DetectionCurrent($Digest) {
    if ($null -eq $Digest) { return $false }
    if ($null -eq $Digest.SelectSingleNode($DigestXPath.Detection)) {
        $body = Get-DigestText $Digest $DigestXPath.DetectionBody
        if (-not $body) { return $false }
        try { $Digest = [xml] $body } catch { return $false }
    }
    if ($Digest.SelectNodes($DigestXPath.DetectionSettings).Count -ne 1 -or
        $Digest.SelectNodes($DigestXPath.DetectionReferences).Count -ne 1) {
        return $false
    }
    $want = @{
        DetectionProduct  = $ProductCode
        DetectionSource   = 'MSI'
        DetectionProperty = 'ProductVersion'
        DetectionMethod   = 'Value'
        DetectionOperator = 'Equals'
        DetectionValue    = $SoftwareVersion
    }
    foreach ($name in $want.Keys) {
        $have = Get-DigestText $Digest $DigestXPath[$name]
        if ($null -eq $have -or $have -ne $want[$name]) { return $false }
    }
    return $true
}

if (-not (Get-Module -Name ConfigurationManager)) {
    if (-not $env:SMS_ADMIN_UI_PATH) { throw 'The Configuration Manager console is not installed here (SMS_ADMIN_UI_PATH is not set).' }
    Import-Module (Join-Path (Split-Path -Parent $env:SMS_ADMIN_UI_PATH) 'ConfigurationManager.psd1')
}
if (-not (Get-PSDrive -Name $SiteCode -PSProvider CMSite -ErrorAction SilentlyContinue)) {
    if (-not $ProviderMachineName) { throw "No site drive $($SiteCode): give -ProviderMachineName." }
    New-PSDrive -Name $SiteCode -PSProvider CMSite -Root $ProviderMachineName -WhatIf:$false | Out-Null
}

Push-Location "$($SiteCode):\"
try {
    $app = Get-CMApplication -Name $ApplicationName
    if (-not $app) {
        if ($PSCmdlet.ShouldProcess($ApplicationName, 'New-CMApplication')) {
            $app = New-CMApplication -Name $ApplicationName -Publisher $Publisher -SoftwareVersion $SoftwareVersion
        }
    } elseif (($app.Manufacturer -ne $Publisher -or $app.SoftwareVersion -ne $SoftwareVersion) -and
              $PSCmdlet.ShouldProcess($ApplicationName, 'Set-CMApplication')) {
        # Only when something changed: every Set makes a new application revision.
        Set-CMApplication -Name $ApplicationName -Publisher $Publisher -SoftwareVersion $SoftwareVersion
    }
    if (-not $app) { return }  # -WhatIf on a new application: nothing below can be shown

    $settings = @{
        ApplicationName          = $ApplicationName
        DeploymentTypeName       = $DeploymentTypeName
        ContentLocation          = $contentLocation
        InstallCommand           = $InstallCommand
        UninstallCommand         = $UninstallCommand
        InstallationBehaviorType = $InstallBehavior
        UserInteractionMode      = 'Hidden'
    }
    # With InstallForUser, ConfigMgr refuses a logon requirement.
    if ($LogonRequirement) { $settings.LogonRequirementType = $LogonRequirement }
    $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
    $existed = [bool] $dt
    if (-not $dt) {
        if ($PSCmdlet.ShouldProcess($DeploymentTypeName, 'Add-CMMsiDeploymentType')) {
            # -Force: the MSI's publisher may be unknown to the site; do not stop to ask.
            Add-CMMsiDeploymentType @settings -Force | Out-Null
        }
    } elseif (-not (Test-DeploymentTypeCurrent (Read-Digest $dt)) -and
              $PSCmdlet.ShouldProcess($DeploymentTypeName, 'Set-CMMsiDeploymentType')) {
        Set-CMMsiDeploymentType @settings
    }
    $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
    if (-not $dt) { return }

    # Detected by the ProductCode at exactly this version (the transform never changes either).
    # Whatever detection the deployment type has is replaced with this one clause in one call:
    # it is never left without a detection method.
    if (-not (Test-DetectionCurrent (Read-Digest $dt)) -and
        $PSCmdlet.ShouldProcess($DeploymentTypeName, 'Set detection clause')) {
        $clause = New-CMDetectionClauseWindowsInstaller -ProductCode $ProductCode -Value -PropertyType ProductVersion -ExpressionOperator IsEquals -ExpectedValue $SoftwareVersion
        $old = @(Get-CMDeploymentTypeDetectionClause -InputObject $dt | ForEach-Object { $_.Setting.LogicalName })
        $detection = @{ AddDetectionClause = $clause }
        if ($old.Count -gt 0) { $detection.RemoveDetectionClause = $old }
        Set-CMMsiDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName @detection
        $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
    }

    # Return codes, compared by code and class (their names are labels only).
    $digest = Read-Digest $dt
    $known = ($null -ne $digest) -and ($null -ne $digest.SelectSingleNode($DigestXPath.ExitCodes))
    foreach ($rc in $ReturnCodes) {
        $action = 'Set'  # cannot tell: set it, or add it when it is missing (as on a first run)
        if ($known) {
            $class = Get-DigestText $digest ($DigestXPath.ExitCodeClass -f $rc.Code)
            if ($null -eq $class) { $action = 'Add' }
            elseif ($class -ceq $rc.Type) { continue }
        }
        if ($PSCmdlet.ShouldProcess("$DeploymentTypeName return code $($rc.Code)", "$action $($rc.Type)")) {
            $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
            if ($action -eq 'Add') {
                Add-CMDeploymentTypeReturnCode -InputObject $dt -ReturnCode $rc.Code -CodeType $rc.Type -Name $rc.Name | Out-Null
                continue
            }
            try {
                Set-CMDeploymentTypeReturnCode -InputObject $dt -ReturnCode $rc.Code -CodeType $rc.Type -NewName $rc.Name | Out-Null
            } catch {
                Add-CMDeploymentTypeReturnCode -InputObject $dt -ReturnCode $rc.Code -CodeType $rc.Type -Name $rc.Name | Out-Null
            }
        }
    }

    # The content (the MSI and this policy's transform) on the distribution points. An existing
    # application's content is refreshed on every run, even when nothing above changed: a
    # rotated token changes only the .mst, which ConfigMgr does not notice in the content source.
    if ($existed) {
        if ($PSCmdlet.ShouldProcess($ApplicationName, 'Update-CMDistributionPoint')) {
            try {
                Update-CMDistributionPoint -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
            } catch {
                Write-Warning "Could not refresh the content on the distribution points: $($_.Exception.Message)"
            }
        }
    } elseif ($DistributionPointGroupName) {
        if ($PSCmdlet.ShouldProcess($ApplicationName, "Start-CMContentDistribution to $DistributionPointGroupName")) {
            Start-CMContentDistribution -ApplicationName $ApplicationName -DistributionPointGroupName $DistributionPointGroupName
        }
    } else {
        Write-Warning 'The content is not distributed yet: give -DistributionPointGroupName, or distribute it in the console.'
    }
} finally {
    Pop-Location
}
