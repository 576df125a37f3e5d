@echo off
rem Uninstalls {{ product | cmd }} by its ProductCode (written by agentpack).
{{ line }}
exit /b %ERRORLEVEL%
