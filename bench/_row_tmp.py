import asyncio, os, sys
from pathlib import Path
from bench import model_path
from sandbox.config import Workspace
from sandbox.stores.registry import StoreRegistry
from sandbox.workload import model_file
settings = StoreRegistry.load(os.environ).settings("native", Workspace.from_env(dict(os.environ)))
model = model_file.load(Path("models/orders.toml"))
print(asyncio.run(model_path.bench(settings, model, 1, int(sys.argv[2]), int(sys.argv[3]), sys.argv[1].split(","))), flush=True)
