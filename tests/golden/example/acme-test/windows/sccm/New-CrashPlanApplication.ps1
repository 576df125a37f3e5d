<#
.SYNOPSIS
Creates or updates the Configuration Manager application for CrashPlan 11.7.0, policy acme-test.

.DESCRIPTION
Written by agentpack. Idempotent: creates the application and its Windows Installer deployment
type when missing and updates them otherwise (commands, detection, return codes), then sends
the content to the distribution points: a changed transform (a rotated token) reaches clients
only once the distribution points hold it. Supports -WhatIf and -Confirm. Copy the files of this policy's windows folder (CrashPlan_11.7.0_911_Win64.msi, acme-test.mst)
to ContentShare first. The deployment token is in the transform only, never in this script.

.PARAMETER SiteCode
The Configuration Manager site code, e.g. P01.

.PARAMETER ContentShare
UNC folder holding this policy's MSI and transform, e.g. \\server\sources$\acme-test.

.PARAMETER ProviderMachineName
SMS Provider server, when the site drive does not exist yet in this session.

.PARAMETER DistributionPointGroupName
Distribute a new application's content to this distribution point group. An existing
application's content is refreshed on the distribution points that already hold it.

.EXAMPLE
.\New-CrashPlanApplication.ps1 -SiteCode P01 -ContentShare \\server\sources$\acme-test -WhatIf
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

    [string] $DistributionPointGroupName
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Values read from the vendor MSI and the policy at build time.
$ApplicationName    = 'CrashPlan 11.7.0 (acme-test)'
$Publisher          = 'CrashPlan Group LLC'
$SoftwareVersion    = '11.7.0'
$DeploymentTypeName = 'acme-test - Windows Installer (.msi)'
$MsiFile            = 'CrashPlan_11.7.0_911_Win64.msi'
$ProductCode        = '{9556A5AC-B320-4D10-9953-A7A3FDA9F882}'
$InstallCommand     = 'msiexec /i "CrashPlan_11.7.0_911_Win64.msi" TRANSFORMS="acme-test.mst" /qn /norestart /l*v "%WINDIR%\Temp\crashplan-install.log"'
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

$contentLocation = $ContentShare.TrimEnd('\') + '\' + $MsiFile
if (-not (Test-Path -LiteralPath $contentLocation)) {
    throw "The MSI is not in the content share: $contentLocation (copy this policy's windows folder there first)"
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

    # Detected by the ProductCode at exactly this version (the transform never changes either).
    $clause = New-CMDetectionClauseWindowsInstaller -ProductCode $ProductCode -Value -PropertyType ProductVersion -ExpressionOperator IsEquals -ExpectedValue $SoftwareVersion
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
    } elseif ($PSCmdlet.ShouldProcess($DeploymentTypeName, 'Set-CMMsiDeploymentType')) {
        Set-CMMsiDeploymentType @settings
    }
    $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
    if (-not $dt) { return }

    # Replace whatever detection the deployment type has with the one clause above, in one
    # call: the deployment type is never left without a detection method.
    if ($PSCmdlet.ShouldProcess($DeploymentTypeName, 'Set detection clause')) {
        $old = @(Get-CMDeploymentTypeDetectionClause -InputObject $dt | ForEach-Object { $_.Setting.LogicalName })
        $detection = @{ AddDetectionClause = $clause }
        if ($old.Count -gt 0) { $detection.RemoveDetectionClause = $old }
        Set-CMMsiDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName @detection
    }

    foreach ($rc in $ReturnCodes) {
        if ($PSCmdlet.ShouldProcess("$DeploymentTypeName return code $($rc.Code)", $rc.Type)) {
            $dt = Get-CMDeploymentType -ApplicationName $ApplicationName -DeploymentTypeName $DeploymentTypeName
            try {
                Set-CMDeploymentTypeReturnCode -InputObject $dt -ReturnCode $rc.Code -CodeType $rc.Type -NewName $rc.Name | Out-Null
            } catch {
                Add-CMDeploymentTypeReturnCode -InputObject $dt -ReturnCode $rc.Code -CodeType $rc.Type -Name $rc.Name | Out-Null
            }
        }
    }

    # The content (the MSI and this policy's transform) on the distribution points.
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
