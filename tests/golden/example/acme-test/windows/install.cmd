@echo off
rem Installs CrashPlan for policy acme-test with its transform (written by agentpack).
rem Runs from any working folder, including a UNC share: pushd switches to this script's folder
rem so the MSI and the transform are found by the same relative names ConfigMgr uses.
rem pushd clears ERRORLEVEL on success; "if errorlevel" rather than "||", which some cmd
rem implementations (Wine 8) run unconditionally. 1619: the package could not be opened.
pushd "%~dp0"
if errorlevel 1 exit /b 1619
rem popd's line expands ERRORLEVEL when it is read, before popd runs: msiexec's exit code.
msiexec /i "CrashPlan_11.7.0_911_Win64.msi" TRANSFORMS="acme-test.mst" /qn /norestart /l*v "%WINDIR%\Temp\crashplan-install.log"
popd & exit /b %ERRORLEVEL%
