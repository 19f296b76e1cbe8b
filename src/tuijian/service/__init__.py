"""tuijian.service"""
