-- ATTACK (.sql file): self.__init__.__globals__ to open() a file for writing
SELECT '{{ self.__init__.__globals__.__builtins__.open('/tmp/kappa-adversarial-ssti-file-self', 'w').write('x') }}' AS x
