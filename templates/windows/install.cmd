@echo off
rem Installs {{ product | cmd }} for policy {{ policy }} with its transform (written by agentpack).
rem Runs from any working folder, including a UNC share: pushd switches to this script's folder
rem so the MSI and the transform are found by the same relative names ConfigMgr uses.
{%- if utf8 %}
chcp 65001 >nul
{%- endif %}
rem pushd clears ERRORLEVEL on success; "if errorlevel" rather than "||", which some cmd
rem implementations (Wine 8) run unconditionally. 1619: the package could not be opened.
pushd "%~dp0"
if errorlevel 1 exit /b 1619
rem popd's line expands ERRORLEVEL when it is read, before popd runs: msiexec's exit code.
{{ line }}
popd & exit /b %ERRORLEVEL%
