@echo off
rem Uninstalls CrashPlan by its ProductCode (written by agentpack).
msiexec /x {9556A5AC-B320-4D10-9953-A7A3FDA9F882} /qn /norestart
exit /b %ERRORLEVEL%
