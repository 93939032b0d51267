"""Op-table rows for the tensor methods that reshape or convert like another tensor:
view_as, expand_as, type_as (the second tensor only lends its shape or dtype)."""
import numpy as np

import nerve as nv
from optable import Op

ROWS = [
    Op("view_as", lambda a, b: a.view_as(b), lambda a, b: a.reshape(b.shape),
       [((6,), (2, 3)), ((2, 3, 4), (4, 6)), ((), (1, 1))], grad=(True, False),
       torch=lambda a, b: a.view_as(b)),
    Op("expand_as_method", lambda a, b: a.expand_as(b), lambda a, b: np.broadcast_to(a, b.shape),
       [((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((), (2, 2))], grad=(True, False),
       torch=lambda a, b: a.expand_as(b)),
    Op("type_as_f64", lambda a, b: a.type_as(b.double()) * 1.5, lambda a, b: a.astype(np.float64) * 1.5,
       [((3, 4), (2,))], grad=(True, False), dtypes=(np.float32, np.float64),
       torch=lambda a, b: a.type_as(b.double()) * 1.5),
    Op("type_as_same", lambda a, b: nv.functional.type_as(a, b) * 2.0, lambda a, b: a * 2.0,
       [((3,), (1,))], grad=(True, False), torch=lambda a, b: a.type_as(b) * 2.0),
]
