@echo off
rem Installs {{ product | cmd }} for policy {{ policy }} with its transform (written by agentpack).
rem Runs from any working folder, including a UNC share: pushd switches to this script's folder
rem so the MSI and the transform are found by the same relative names ConfigMgr uses.
{%- if utf8 %}
chcp 65001 >nul
{%- endif %}
pushd "%~dp0" || exit /b 1619
rem popd's line expands ERRORLEVEL when it is read, before popd runs: msiexec's exit code.
{{ line }}
popd & exit /b %ERRORLEVEL%
